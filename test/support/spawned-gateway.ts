/**
 * @module test/support/spawned-gateway
 * Runs the built `reins gateway --config <reins.yaml>` as a process of its own, as an operator runs a
 * replica: resolves once it listens, with its endpoint and pid. `stop()` ends it the polite way
 * (SIGTERM: pending records flushed), `kill()` with SIGKILL (nothing flushed, nothing closed). Its
 * environment is clean of the developer's `REINS_*` variables; each process is marked so that a failed
 * test leaves no orphans (`killMarked`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { REINS_BIN } from './deployment-fixture.js';
import { MARK_VARIABLE } from './marked-processes.js';

export interface SpawnedGateway {
  /** e.g. http://127.0.0.1:41234/mcp */
  readonly endpoint: string;
  readonly pid: number;
  /** What it wrote to standard error so far. */
  log(): string;
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  readonly exited: Promise<number | string>;
  /** SIGTERM; resolves once it has exited. */
  stop(): Promise<number | string>;
  /** SIGKILL: a crash; resolves once it has exited. */
  kill(): Promise<number | string>;
}

export interface SpawnOptions {
  /** Marks the process and its upstreams (see marked-processes). */
  readonly mark?: string;
  /** How long it may take to listen (upstreams start first). Default 30 s. */
  readonly startTimeoutMs?: number;
}

/** Starts a gateway from `config` (run in the file's directory); resolves when it listens. */
export async function spawnGateway(config: string, options: SpawnOptions = {}): Promise<SpawnedGateway> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^REINS_/.test(name)));
  const child = spawn(process.execPath, [REINS_BIN, 'gateway', '--config', config], {
    cwd: dirname(config),
    env: { ...clean, ...(options.mark ? { [MARK_VARIABLE]: options.mark } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  const endpoint = await listening(child, exited, () => stderr, options.startTimeoutMs ?? 30_000);
  const end = (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  return {
    endpoint,
    pid: child.pid as number,
    log: () => stderr,
    exited,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
  };
}

/** The endpoint from the "listening on <url>" line; rejects if the process exits or takes too long. */
function listening(
  child: ChildProcess,
  exited: Promise<number | string>,
  stderr: () => string,
  timeoutMs: number,
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`reins gateway did not listen within ${timeoutMs} ms:\n${stderr()}`));
    }, timeoutMs);
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const found = /listening on (\S+)/.exec(stdout);
      if (found) {
        clearTimeout(timer);
        resolve(found[1] as string);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`reins gateway exited (${code}) before listening:\n${stderr()}`));
    });
  });
}
