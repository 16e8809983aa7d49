/**
 * @module test/identity-revocation-propagation.test
 * A revocation made in one process takes effect in another without a restart: this process revokes 20
 * tokens one by one on a PostgreSQL identity store while a second, real process (spawned with tsx)
 * listens on the same store and prints when each one reaches it. Every revocation must arrive. The
 * median and the maximum delay are printed for BENCHMARKS.md, not asserted (a latency bound on a shared
 * CI machine would only make the test flaky).
 *
 * The delay is measured from two points of this process: when `revoke` was called (an upper bound: it
 * includes the write's own transaction) and when it resolved (just after the commit, plus the one query
 * with which this store tells its own listeners, so it can come out slightly negative). Both processes
 * stamp times as `performance.timeOrigin + performance.now()` (same machine, same clock).
 * Postgres must be running (REINS_TEST_DATABASE_URL, default: local trust auth): unreachable fails.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Client, escapeIdentifier } from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresIdentityStore } from '../src/store/postgres/postgres-identity-store.js';
import { eventually } from './support/eventually.js';

const DATABASE_URL = process.env.REINS_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROOT = resolve(import.meta.dirname, '..');
const LISTENER = resolve(ROOT, 'test/support/identity-listener-process.ts');
const COUNT = 20;
const SPACING_MS = 50;

const now = () => performance.timeOrigin + performance.now();

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

describe('revocation propagation between two processes on PostgreSQL', () => {
  const schema = `reins_test_${randomBytes(6).toString('hex')}`;
  let admin: Client | undefined;
  let store: PostgresIdentityStore | undefined;

  afterAll(async () => {
    await store?.close().catch(() => {});
    await admin?.query(`drop schema if exists ${escapeIdentifier(schema)} cascade`).catch(() => {});
    await admin?.end().catch(() => {});
  });

  it(`delivers each of ${COUNT} revocations to the other process, and prints how long each took`, {
    timeout: 60_000,
  }, async () => {
    // inside the test, not in a hook: an unreachable server fails it rather than skipping it
    admin = new Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 5_000 });
    try {
      await admin.connect();
    } catch (error) {
      throw new Error(
        `PostgreSQL is not reachable at ${DATABASE_URL} (${error instanceof Error ? error.message : String(error)}): start it or set REINS_TEST_DATABASE_URL`,
      );
    }
    store = await PostgresIdentityStore.open({ connectionString: DATABASE_URL, schema });

    const child = spawn(process.execPath, ['--import', 'tsx', LISTENER, DATABASE_URL, schema], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const received = new Map<string, number>();
    let markReady: () => void = () => {};
    const ready = new Promise<void>((resolve) => {
      markReady = resolve;
    });
    void exited.then(() => markReady()); // never wait on a listener that died before it was ready
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line === 'ready') return markReady();
      const message = JSON.parse(line) as { id: string; t: number };
      received.set(message.id, message.t);
    });

    try {
      await ready;
      expect(child.exitCode, `listener process failed:\n${stderr}`).toBeNull();

      const called = new Map<string, number>();
      const resolved = new Map<string, number>();
      for (let index = 0; index < COUNT; index++) {
        const id = `jti-${index}`;
        const revocation = {
          kind: 'token' as const,
          id,
          until: new Date(Date.now() + 3_600_000).toISOString(),
          at: new Date().toISOString(),
          by: 'admin@example.com',
          reason: 'propagation test',
        };
        called.set(id, now());
        await store.revoke(revocation);
        resolved.set(id, now());
        await new Promise((resolve) => setTimeout(resolve, SPACING_MS));
      }
      await eventually(
        () =>
          expect(
            [...called.keys()].filter((id) => !received.has(id)),
            'revocations that never arrived',
          ).toEqual([]),
        { intervalMs: 10, what: 'every revocation reaching the other process' },
      );

      const fromCall = [...called].map(([id, time]) => (received.get(id) as number) - time);
      const fromCommit = [...resolved].map(([id, time]) => (received.get(id) as number) - time);
      const format = (values: number[]) =>
        `median ${median(values).toFixed(2)} ms, max ${Math.max(...values).toFixed(2)} ms`;
      console.log(
        `revocation propagation over ${COUNT} revocations, ${SPACING_MS} ms apart:\n` +
          `  from revoke() call to receipt in the other process:   ${format(fromCall)}\n` +
          `  from revoke() resolving (commit) to receipt:          ${format(fromCommit)}`,
      );
    } finally {
      child.stdin.end('stop\n');
      const code = await exited;
      expect(code, `listener process failed:\n${stderr}`).toBe(0);
    }
  });
});
