/**
 * @module test/audit-tamper.test
 * `reins audit verify` against a real SQLite audit file that is tampered with by plain SQL, the way an
 * intruder with file access would: edited field, deleted record, swapped records, edited index column.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { intentEvent } from './support/audit-fixtures.js';

let path: string;

beforeEach(async () => {
  path = join(mkdtempSync(join(tmpdir(), 'reins-audit-')), 'audit.db');
  const log = new SqliteAuditLog({ path });
  await Promise.all(Array.from({ length: 20 }, (_, index) => log.append(intentEvent(index))));
  await log.close();
});

async function verify(): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(['node', 'reins', 'audit', 'verify', '--db', path], {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  });
  return { code, out, err };
}

function tamper(sql: string): void {
  const database = new Database(path);
  database.exec(sql);
  database.close();
}

describe('reins audit verify', () => {
  it('passes on an untouched log', async () => {
    const result = await verify();
    expect(result.code).toBe(0);
    expect(result.out[0]).toMatch(/^ok: .*: 20 records, chain intact/);
  });

  it('detects an edited field', async () => {
    tamper(`update audit_events set body = replace(body, '"customers"', '"payroll"') where seq = 7`);
    const result = await verify();
    expect(result.code).toBe(1);
    expect(result.err[0]).toContain('first bad record 7 (hash_mismatch)');
  });

  it('detects a deleted record', async () => {
    tamper('delete from audit_events where seq = 12');
    const result = await verify();
    expect(result.code).toBe(1);
    expect(result.err[0]).toContain('first bad record 13 (sequence_gap)');
  });

  it('detects two swapped records', async () => {
    tamper(`
      update audit_events set seq = -5 where seq = 5;
      update audit_events set seq = 5 where seq = 6;
      update audit_events set seq = 6 where seq = -5;`);
    const result = await verify();
    expect(result.code).toBe(1);
    expect(result.err[0]).toContain('first bad record 5 (broken_link)');
  });

  it('detects an edited searchable column', async () => {
    tamper(`update audit_events set agent_id = 'someone-else' where seq = 3`);
    const result = await verify();
    expect(result.code).toBe(1);
    expect(result.err[0]).toContain('first bad record 3 (hash_mismatch)');
  });

  it('refuses a file that is not a Reins audit log, without changing it', async () => {
    path = join(mkdtempSync(join(tmpdir(), 'reins-audit-')), 'other.db');
    tamper('create table notes (text text)');
    const result = await verify();
    expect(result.code).toBe(2);
    expect(result.err[0]).toContain('not a Reins audit store');
    const database = new Database(path);
    const tables = database.prepare("select name from sqlite_master where type = 'table'").all();
    database.close();
    expect(tables).toEqual([{ name: 'notes' }]);
  });

  it('refuses to verify a log that does not exist', async () => {
    path = join(tmpdir(), 'reins-no-such-dir', 'audit.db');
    const result = await verify();
    expect(result.code).toBe(2);
    expect(result.err[0]).toContain('which does not exist; nothing was created');
  });
});

describe('SqliteAuditLog', () => {
  it('group-commits concurrent appends into one gap-free chain that survives reopening', async () => {
    const log = new SqliteAuditLog({ path });
    const receipts = await Promise.all(
      Array.from({ length: 500 }, (_, index) => log.append(intentEvent(100 + index))),
    );
    expect(receipts.map((receipt) => receipt.seq)).toEqual(
      Array.from({ length: 500 }, (_, index) => 21 + index),
    );
    await log.close();
    const reopened = new SqliteAuditLog({ path });
    expect(await reopened.verify()).toMatchObject({ ok: true, checked: 520 });
    await reopened.close();
  });

  it('keeps one chain when two connections append to the same file', async () => {
    const first = new SqliteAuditLog({ path });
    const second = new SqliteAuditLog({ path });
    await Promise.all(
      Array.from({ length: 100 }, (_, index) =>
        (index % 2 === 0 ? first : second).append(intentEvent(200 + index)),
      ),
    );
    expect(await first.verify()).toMatchObject({ ok: true, checked: 120 });
    await Promise.all([first.close(), second.close()]);
  });

  it('refuses a store written by a newer version', () => {
    tamper('pragma user_version = 99');
    expect(() => new SqliteAuditLog({ path })).toThrow(/schema version 99 is newer/);
  });

  it('rejects appends after close instead of dropping them', async () => {
    const log = new SqliteAuditLog({ path });
    await log.close();
    await expect(log.append(intentEvent(1))).rejects.toThrow(/closed/);
  });
});
