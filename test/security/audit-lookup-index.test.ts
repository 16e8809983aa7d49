/**
 * @module test/security/audit-lookup-index.test
 * Attack: someone with write access to the SQLite store hides a record from every human, without
 * touching the hash chain. The API, the console and `reins audit query`/`show-session` filter through
 * `audit_lookup`, a query index the store derives from the log and that the chain does not cover:
 * deleting or editing one of its rows hides a record from (or files it under another agent in) every
 * query while `reins audit verify` still said "chain intact". Verification now compares the index with
 * the chained columns.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { SqliteAuditLog } from '../../src/store/sqlite/sqlite-audit-log.js';
import { intentEvent } from '../support/audit-fixtures.js';

let path: string;

beforeEach(async () => {
  path = join(mkdtempSync(join(tmpdir(), 'reins-audit-lookup-')), 'audit.db');
  const log = new SqliteAuditLog({ path });
  await Promise.all(Array.from({ length: 20 }, (_, index) => log.append(intentEvent(index))));
  expect(await log.query({ limit: 100 })).toHaveLength(20); // builds the query index
  await log.close();
});

async function verify(): Promise<{ code: number; err: string[] }> {
  const err: string[] = [];
  const code = await runCli(['node', 'reins', 'audit', 'verify', '--db', path], {
    out: () => {},
    err: (line) => err.push(line),
  });
  return { code, err };
}

function tamper(sql: string): void {
  const database = new Database(path);
  database.exec(sql);
  database.close();
}

async function visibleSeqs(): Promise<number[]> {
  const log = new SqliteAuditLog({ path });
  try {
    return (await log.query({ limit: 100 })).map((record) => record.seq);
  } finally {
    await log.close();
  }
}

describe('the query index of the SQLite audit log', () => {
  it('fails verification when a record was hidden from queries by deleting its index row', async () => {
    tamper('delete from audit_lookup where seq = 7');
    expect(await visibleSeqs()).not.toContain(7); // what the API and the console now show
    const result = await verify();
    expect(result.code).toBe(1);
    expect(result.err.join('\n')).toMatch(/record 7.*query index/);
  });

  it('fails verification when an index row files a record under another agent', async () => {
    tamper(`update audit_lookup set agent_id = 'someone-else' where seq = 8`);
    const result = await verify();
    expect(result.code).toBe(1);
    expect(result.err.join('\n')).toMatch(/record 8.*query index/);
  });

  it('fails verification when the index lists a record that is not in the log', async () => {
    tamper(`insert into audit_lookup (seq, time, kind, session_id, agent_id, tool, effect)
            values (999, '2026-01-01T00:00:00.000Z', 'call-intent', 's', 'a', 't/t', 'allow')`);
    const result = await verify();
    expect(result.code).toBe(1);
    expect(result.err.join('\n')).toMatch(/record 999.*query index/);
  });

  it('fails verification when the index claims records the log does not hold yet (they would stay hidden)', async () => {
    tamper('update audit_lookup_state set last_seq = 1000 where id = 1');
    const result = await verify();
    expect(result.code).toBe(1);
    expect(result.err.join('\n')).toMatch(/record 1000.*query index/);
  });
});
