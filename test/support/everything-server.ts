/**
 * @module test/support/everything-server
 * The reference MCP server from npm (`@modelcontextprotocol/server-everything`) over Streamable HTTP,
 * in a process of its own: a remote service that every gateway replica (and a restarted gateway)
 * reaches at the same URL, as replicas share the services behind them.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { MARK_VARIABLE } from './marked-processes.js';

const EVERYTHING = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-everything/dist/index.js',
);

export interface EverythingServer {
  /** e.g. http://127.0.0.1:40001/mcp */
  readonly url: string;
  close(): Promise<void>;
}

/** Starts it on a free port; resolves once it listens. */
export async function startEverythingServer(mark?: string): Promise<EverythingServer> {
  const port = await freePort();
  const child = spawn(process.execPath, [EVERYTHING, 'streamableHttp'], {
    env: { ...process.env, PORT: String(port), ...(mark ? { [MARK_VARIABLE]: mark } : {}) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`server-everything did not start: ${stderr}`)), 30_000);
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      if (stderr.includes('listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(() => reject(new Error(`server-everything exited: ${stderr}`)));
  });
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: () => {
      child.kill();
      return exited;
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
