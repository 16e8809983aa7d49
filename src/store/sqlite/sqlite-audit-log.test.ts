/**
 * @module store/sqlite/sqlite-audit-log.test
 * A file-backed log writes lone events on the calling thread and bursts in the writer thread. Whichever
 * writes, records must land in the order they were appended, and one chain must come out. Captured
 * content in the in-memory log, and in a file from before captures existed. The lookup table caught
 * up in steps, the event loop running between them.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { intentEvent } from '../../../test/support/audit-fixtures.js';
import { CheckpointSigner } from '../../audit/checkpoint.js';
import type { AppendReceipt } from '../audit-log.js';
import { SqliteAuditLog } from './sqlite-audit-log.js';
import { SQLITE_CAPTURES_VERSION } from './sqlite-migrations.js';

let directory: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'reins-sqlite-log-'));
});
afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe.each([
  ['full', 'full'],
  ['process', 'process'],
] as const)('SqliteAuditLog file, durability %s', (_label, durability) => {
  it('keeps append order when lone events (inline) and bursts (writer thread) interleave', async () => {
    const log = new SqliteAuditLog({
      path: join(directory, 'audit.db'),
      durability,
      inlineMaxBatch: 1,
      maxBatch: 8,
      maxInFlight: 8,
    });
    const appended: Promise<AppendReceipt>[] = [];
    let index = 0;
    const append = () => {
      const receipt = log.append(intentEvent(index, { sessionId: `s${index}` }));
      index++;
      appended.push(receipt);
      return receipt;
    };
    for (let round = 0; round < 5; round++) {
      // one call at a time
      for (let lone = 0; lone < 5; lone++) await append();
      // a burst: several batches go to the writer thread, and a lone event follows each turn while
      // they are in flight (it must not overtake them)
      for (let burst = 0; burst < 40; burst++) void append();
      for (let during = 0; during < 6; during++) {
        await turn();
        void append();
      }
      await Promise.all(appended);
    }
    const receipts = await Promise.all(appended);
    expect(receipts.map((receipt) => receipt.seq)).toEqual(receipts.map((_, position) => position + 1));

    const sessions: string[] = [];
    for await (const record of log.records()) sessions.push(record.sessionId);
    expect(sessions).toEqual(receipts.map((_, position) => `s${position}`));
    const report = await log.verify();
    expect(report).toMatchObject({ ok: true, checked: receipts.length });
    await log.close();
  });
});

describe('SqliteAuditLog captured content', () => {
  const content = (text: string) => {
    const bytes = new TextEncoder().encode(text);
    return { hash: createHash('sha256').update(bytes).digest('hex'), bytes };
  };

  it('keeps captured content in an in-memory log', async () => {
    const log = new SqliteAuditLog({ path: ':memory:' });
    const captured = content('in memory');
    await log.append(intentEvent(1), { captured: [captured] });
    expect(new TextDecoder().decode(await log.readCaptured(captured.hash))).toBe('in memory');
    await log.close();
  });

  it('reads a file from before captures existed: read-only it holds none, opened to write it is migrated', async () => {
    const path = join(directory, 'audit.db');
    const old = new SqliteAuditLog({ path });
    await old.append(intentEvent(1));
    await old.close();
    // as Reins left it before schema version 5
    const database = new Database(path);
    database.exec('drop table leases; drop table audit_captures');
    database.pragma(`user_version = ${SQLITE_CAPTURES_VERSION - 1}`);
    database.close();

    const reader = new SqliteAuditLog({ path, readOnly: true });
    expect(await reader.readCaptured(content('anything').hash)).toBeUndefined();
    await reader.close();

    const writer = new SqliteAuditLog({ path });
    const captured = content('after the upgrade');
    await writer.append(intentEvent(2), { captured: [captured] });
    expect(new TextDecoder().decode(await writer.readCaptured(captured.hash))).toBe('after the upgrade');
    expect(await writer.verify()).toMatchObject({ ok: true, checked: 2 });
    await writer.close();
  });
});

describe('SqliteAuditLog lookup table', () => {
  it('catches up on many records in steps, letting the event loop run between them, and misses none', async () => {
    const log = new SqliteAuditLog({ path: ':memory:' });
    const total = 25_001; // more than two steps of the catch-up
    const appended: Promise<AppendReceipt>[] = [];
    for (let n = 0; n < total; n++) appended.push(log.append(intentEvent(n)));
    await Promise.all(appended);
    let ticks = 0;
    let ticking = true;
    const tick = (): void => {
      ticks += 1;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const newest = await log.queryIndex({ order: 'desc', limit: 1 });
    ticking = false;
    const oldest = await log.queryIndex({ limit: 1 });
    expect({ newest: newest[0]?.seq, oldest: oldest[0]?.seq, ranBetween: ticks > 1 }).toEqual({
      newest: total,
      oldest: 1,
      ranBetween: true,
    });
    await log.close();
  });
});

describe('SqliteAuditLog tail reads', () => {
  const all = async (log: SqliteAuditLog, afterSeq: number) => {
    const seqs: number[] = [];
    for await (const record of log.records({ afterSeq })) seqs.push(record.seq);
    return seqs;
  };

  it.each(['causal', 'full', 'process'] as const)(
    'a read after the head finds what another connection (%s) appended since, and what this one appended',
    async (durability) => {
      const path = join(directory, 'audit.db');
      const here = new SqliteAuditLog({ path, durability });
      const there = new SqliteAuditLog({ path, durability });
      try {
        const first = await here.append(intentEvent(0));
        expect(await all(here, first.seq)).toEqual([]);
        expect(await all(here, first.seq)).toEqual([]); // the read that skips the query
        const theirs = await there.append(intentEvent(1));
        expect(await all(here, first.seq)).toEqual([theirs.seq]);
        const mine = await here.append(intentEvent(2));
        expect(await all(here, theirs.seq)).toEqual([mine.seq]);
        expect(await all(here, mine.seq)).toEqual([]);
        // a burst goes to the writer thread (its own connection) where the log has one
        const burst = await Promise.all([3, 4, 5, 6].map((index) => here.append(intentEvent(index))));
        expect(await all(here, mine.seq)).toEqual(burst.map((receipt) => receipt.seq));
        const again = await there.append(intentEvent(7));
        expect(await all(here, burst.at(-1)?.seq ?? 0)).toEqual([again.seq]);
      } finally {
        await there.close();
        await here.close();
      }
    },
  );

  it('a read interrupted by an append of its own, or stopped early, does not hide later records', async () => {
    const path = join(directory, 'audit.db');
    const log = new SqliteAuditLog({ path, durability: 'process' });
    try {
      const first = await log.append(intentEvent(0));
      const second = await log.append(intentEvent(1));
      expect(await all(log, second.seq)).toEqual([]);
      // a reader pauses after its first record; an append lands meanwhile
      const reader = log.records({ afterSeq: 0 })[Symbol.asyncIterator]();
      expect((await reader.next()).value?.seq).toBe(first.seq);
      const third = await log.append(intentEvent(2));
      const rest: number[] = [];
      for (let next = await reader.next(); !next.done; next = await reader.next()) rest.push(next.value.seq);
      expect([first.seq, ...rest].slice(0, 2)).toEqual([first.seq, second.seq]);
      expect(await all(log, second.seq)).toEqual([third.seq]);
      // stopped early: nothing is taken as seen
      for await (const _record of log.records({ afterSeq: 0 })) break;
      const fourth = await log.append(intentEvent(3));
      expect(await all(log, third.seq)).toEqual([fourth.seq]);
    } finally {
      await log.close();
    }
  });

  it('a read after a gap (a log pruned empty, reopened) still finds what this connection appends', async () => {
    const path = join(directory, 'audit.db');
    const signer = new CheckpointSigner(generateKeyPairSync('ed25519').privateKey);
    const first = new SqliteAuditLog({ path, durability: 'process', signer });
    for (let index = 0; index < 3; index++) await first.append(intentEvent(index));
    await first.close(); // signs the head
    const log = new SqliteAuditLog({ path, durability: 'process', signer });
    try {
      // everything up to the head's checkpoint goes: the table is empty, the chain goes on from 3
      expect((await log.prune(new Date(Date.now() + 60_000))).deleted).toBe(3);
      expect(await all(log, 0)).toEqual([]);
      const next = await log.append(intentEvent(3));
      expect(next.seq).toBe(4);
      expect(await all(log, 0)).toEqual([4]);
      const after = await log.append(intentEvent(4));
      expect(await all(log, 0)).toEqual([4, after.seq]);
    } finally {
      await log.close();
    }
  });

  it('an in-memory log reads its own appends', async () => {
    const log = new SqliteAuditLog({ path: ':memory:' });
    try {
      const first = await log.append(intentEvent(0));
      expect(await all(log, first.seq)).toEqual([]);
      const second = await log.append(intentEvent(1));
      expect(await all(log, first.seq)).toEqual([second.seq]);
    } finally {
      await log.close();
    }
  });
});
