/**
 * @module test/gateway-start-failure.test
 * `reins gateway` starts its upstreams while its stores open. When a part fails after that, the
 * upstreams still connecting are stopped at once: a start that fails must not wait for an HTTP
 * upstream that accepted the connection and never answers (the SDK would wait 60 s for its
 * `initialize`, then as long again for its tool list). The process exits with the reason.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
/** Far below the SDK's 60 s request timeout, far above what a prompt exit takes. */
const PROMPTLY_MS = 20_000;

const directory = mkdtempSync(join(tmpdir(), 'reins-gateway-start-'));
const held: Socket[] = [];
/** Accepts connections, reads what comes, never answers. */
const blackhole = createServer((socket) => {
  held.push(socket);
  socket.resume();
});
afterAll(() => {
  for (const socket of held) socket.destroy();
  blackhole.close();
  rmSync(directory, { recursive: true, force: true });
});

/** Runs the CLI; resolves with how it ended (killed if it ran past `timeoutMs`). */
function run(args: string[], timeoutMs: number) {
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((done) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/reins.js'), ...args], {
      cwd: directory,
      env: { ...process.env, REINS_DATABASE_URL: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: timeoutMs,
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr += text;
    });
    child.once('close', (code, signal) => done({ code, signal, stderr }));
  });
}

it('exits promptly when a part fails while an HTTP upstream that never answers is still connecting', async () => {
  await new Promise<void>((done) => blackhole.listen(0, '127.0.0.1', () => done()));
  const { port } = blackhole.address() as { port: number };
  writeFileSync(
    join(directory, 'policy.yaml'),
    'apiVersion: reins.dev/v1\nkind: Policy\nmetadata: { name: t }\nrules:\n  - { id: all, effect: allow, reason: all }\n',
  );
  // the audit log cannot open (its path is a directory): that fails after the upstreams started
  mkdirSync(join(directory, 'not-a-database'));
  writeFileSync(
    join(directory, 'reins.yaml'),
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: not-a-database }
upstreams:
  - name: silent
    http: { url: "http://127.0.0.1:${port}/mcp" }
listen: { host: 127.0.0.1, port: 0, path: /mcp }
`,
  );
  const exit = await run(['gateway', '--config', join(directory, 'reins.yaml')], PROMPTLY_MS);
  expect(exit.signal).toBeNull(); // it exited by itself, not killed at the bound
  expect(exit.code).toBe(2);
  expect(exit.stderr).toMatch(/not-a-database/);
}, 60_000);
