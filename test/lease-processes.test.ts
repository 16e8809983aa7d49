/**
 * @module test/lease-processes.test
 * Leases across processes on one SQLite file (store/leases): processes that ask for the same leases at
 * the same moment get exactly one holder each, and a holder killed with -9 keeps its leases only until
 * they lapse. (PostgreSQL replicas: test/conformance/counter-postgres.test.ts, two pools contending.)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteCounterStore } from '../src/store/sqlite/sqlite-counter-store.js';

const ROOT = resolve(import.meta.dirname, '..');

let directory: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'reins-leases-'));
});
afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

/** Starts a contender; resolves with the keys it won, once it has printed them (and `held`, if holding). */
function contend(path: string, holder: string, keys: number, startAt: number, ttlMs: number, hold = false) {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'test/support/lease-contender.ts'),
      path,
      holder,
      String(keys),
      String(startAt),
      String(ttlMs),
      ...(hold ? ['hold'] : []),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const won = new Promise<string[]>((done, fail) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const lines = stdout.split('\n');
      if (lines.length > (hold ? 2 : 1) && (!hold || lines[1] === 'held'))
        done(JSON.parse(lines[0] as string) as string[]);
    });
    child.on('exit', (code) => fail(new Error(`contender ${holder} exited (${code}): ${stderr}`)));
  });
  return { child, won };
}

describe('leases across processes (SQLite)', () => {
  it('gives each contended lease to exactly one of several processes', async () => {
    const path = join(directory, 'reins.db');
    new SqliteCounterStore(path).close(); // created and migrated before the race
    const keys = 200;
    // far enough ahead for every process to have started and opened the file
    const startAt = Date.now() + 4_000;
    const contenders = ['a', 'b', 'c', 'd'].map((holder) => contend(path, holder, keys, startAt, 60_000));
    const won = await Promise.all(contenders.map((contender) => contender.won));
    const winners = won.flat();
    expect(winners).toHaveLength(keys);
    expect(new Set(winners).size).toBe(keys);
  }, 30_000);

  it('keeps the leases of a holder killed with -9 until they lapse, then lets another take them', async () => {
    const path = join(directory, 'reins.db');
    const ttlMs = 1_500;
    const holder = contend(path, 'killed', 3, Date.now(), ttlMs, true);
    expect(await holder.won).toEqual(['rollback/s0', 'rollback/s1', 'rollback/s2']);
    const taken = Date.now();
    const exited = new Promise((done) => holder.child.on('exit', done));
    holder.child.kill('SIGKILL');
    await exited;
    const store = new SqliteCounterStore(path);
    try {
      expect(await store.acquireLease('rollback/s1', 'rescuer', 60_000, Date.now())).toBe(false);
      await new Promise((wait) => setTimeout(wait, taken + ttlMs + 50 - Date.now()));
      expect(await store.acquireLease('rollback/s1', 'rescuer', 60_000, Date.now())).toBe(true);
    } finally {
      store.close();
    }
  });
});
