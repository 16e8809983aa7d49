/**
 * @module cli/gateway-command
 * `reins gateway --config reins.yaml`: the MCP gateway for remote agents over Streamable HTTP. Starts
 * every upstream, checks the configuration and the policy before listening, and shuts down cleanly
 * on SIGINT/SIGTERM (pending audit records are flushed). `runServing` is the one start path of
 * `reins gateway` and `reins serve`: what cannot start is reported the same way by both, in full
 * (a configuration or policy problem is one file:line:column line each).
 */
import { loadConfigOrThrow } from './deployment.js';
import { startHttpGatewayProcess } from './gateway-process.js';
import { type CliIo, describeFully, EXIT_ERROR, EXIT_OK } from './io.js';

/** Something a serving command started: it runs until stopped. */
export interface Serving {
  close(): Promise<void>;
}

/**
 * Starts what `start` starts, prints `announce`'s lines, runs until SIGINT, SIGTERM or `stop`, then
 * closes it. What cannot start is reported in full and exits 2.
 */
export async function runServing<T extends Serving>(
  command: 'gateway' | 'serve',
  start: (log: (line: string) => void) => Promise<T>,
  announce: (running: T) => readonly string[],
  io: CliIo,
  stop?: AbortSignal,
): Promise<number> {
  const log = (line: string) => io.err(`reins ${command}: ${line}`);
  let running: T;
  try {
    running = await start(log);
  } catch (error) {
    log(describeFully(error));
    return EXIT_ERROR;
  }
  // listening first, announcing after: a supervisor may stop us the moment it reads the line
  const stopped = waitForStop(stop);
  for (const line of announce(running)) io.out(line);
  await stopped;
  log('shutting down');
  await running.close();
  return EXIT_OK;
}

export function runHttpGateway(options: { config: string }, io: CliIo, stop?: AbortSignal): Promise<number> {
  return runServing(
    'gateway',
    (log) => {
      const { config, directory } = loadConfigOrThrow(options.config);
      return startHttpGatewayProcess(config, directory, log);
    },
    (running) => [
      `reins gateway listening on ${running.endpoint} (${
        running.upstreams
          .map((upstream) => `${upstream.name}: ${upstream.listTools().length} tools`)
          .join(', ') || 'no MCP upstream'
      }); remote protocol at ${new URL('/v1/calls', running.endpoint)}`,
    ],
    io,
    stop,
  );
}

/** Resolves on SIGINT, SIGTERM or when `stop` aborts. */
export function waitForStop(stop?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    stop?.addEventListener('abort', done, { once: true });
  });
}
