/**
 * @module cli/process-lifetime
 * When a stdio server that a client started (`reins mcp`, run by a desktop app directly or through
 * `npx`) has to stop, so that it never outlives its client:
 * - its standard input ends (the client closed it, or died: the pipe closes with it), or its standard
 *   output breaks (nobody reads the answers any more);
 * - SIGTERM, SIGINT or SIGHUP (a client stopping its server, a terminal closing);
 * - the process that started it is gone (the server was reparented) although its standard input stays
 *   open: the pipe leaked into another process, or `npx` stood in between and was sent SIGTERM (it
 *   passes the signal on to the shell that runs the server, not to the server). Checked by polling the
 *   parent's pid: Node reports no event for it.
 * Once stopping, the orderly shutdown gets a deadline, and a repeated signal ends the process at once:
 * a client's own escalation (end of input, then SIGTERM, then SIGKILL) does not cut the shutdown short,
 * but nothing keeps the process alive after its client is gone. This acts on the process itself
 * (signals, stdio, exit): only a command that serves over its own stdio uses it.
 */
import { describeError } from '../spec/errors.js';

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
const PARENT_CHECK_MS = 500;
const SHUTDOWN_DEADLINE_MS = 15_000;

export interface LifetimeOptions {
  readonly log: (line: string) => void;
  /** The exit code when the process ends before its shutdown is complete. */
  readonly forcedExitCode: number;
}

export interface ProcessLifetime {
  /** Resolves, once, with why the process should stop. */
  readonly ended: Promise<string>;
  /** The orderly shutdown begins: from now on it has a deadline, and a repeated signal exits at once. */
  stopping(): void;
  /** The shutdown is complete: the listeners and timers are removed. */
  dispose(): void;
}

export function watchProcessLifetime(options: LifetimeOptions): ProcessLifetime {
  const { log } = options;
  let end: (reason: string) => void = () => {};
  const ended = new Promise<string>((resolve) => {
    end = resolve;
  });
  let signals = 0;
  let deadline: NodeJS.Timeout | undefined;
  const exitNow = (why: string) => {
    log(`${why}: exiting now; calls still in progress may have no outcome on record`);
    process.exit(options.forcedExitCode);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) exitNow(`${signal} while stopping`);
    end(`received ${signal}`);
  };
  const onInputEnd = () => end('standard input closed (the client is gone)');
  const onOutputError = (error: Error) =>
    end(`standard output failed (the client is gone): ${describeError(error)}`);
  const parent = process.ppid;
  const parentCheck = setInterval(() => {
    if (process.ppid !== parent) end(`the process that started reins (pid ${parent}) is gone`);
  }, PARENT_CHECK_MS);
  // the check alone keeps nobody alive: the process ends when its work is done
  parentCheck.unref();
  for (const signal of SIGNALS) process.on(signal, onSignal);
  process.stdin.once('end', onInputEnd).once('close', onInputEnd);
  process.stdout.on('error', onOutputError);
  // a log nobody reads any more is no reason to crash before the records are written
  process.stderr.on('error', () => {});
  return {
    ended,
    stopping() {
      clearInterval(parentCheck);
      deadline = setTimeout(
        () => exitNow(`the shutdown did not finish within ${SHUTDOWN_DEADLINE_MS} ms`),
        SHUTDOWN_DEADLINE_MS,
      );
      deadline.unref();
    },
    dispose() {
      clearInterval(parentCheck);
      clearTimeout(deadline);
      for (const signal of SIGNALS) process.off(signal, onSignal);
      process.stdin.off('end', onInputEnd).off('close', onInputEnd);
      process.stdout.off('error', onOutputError);
    },
  };
}
