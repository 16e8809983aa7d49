/**
 * @module store/sqlite/sqlite-audit-log.test
 * A file-backed log writes lone events on the calling thread and bursts in the writer thread. Whichever
 * writes, records must land in the order they were appended, and one chain must come out. Captured
 * content in the in-memory log, and in a file from before captures existed. The lookup table caught
 * up in steps, the event loop running between them.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { intentEvent } from '../../../test/support/audit-fixtures.js';
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
