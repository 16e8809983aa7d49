/**
 * @module test/conformance/postgres.test
 * The audit log conformance suite against the PostgreSQL store. Every store is a fresh schema of the
 * test database (REINS_TEST_DATABASE_URL, default: local trust auth), dropped afterwards. Postgres
 * must be running: an unreachable server fails the suite, it is never skipped. After the suite, a few
 * checks of what only this backend does (binary array encoding, NUL, schema isolation).
 */
import { randomBytes } from 'node:crypto';
import { Client, escapeIdentifier } from 'pg';
import { describe, expect, it } from 'vitest';
import { PostgresAuditLog } from '../../src/store/postgres/postgres-audit-log.js';
import { advisoryLockKey } from '../../src/store/postgres/postgres-migrations.js';
import { intentEvent } from '../support/audit-fixtures.js';
import { auditLogConformance } from './audit-log.conformance.js';

const DATABASE_URL = process.env.REINS_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function connect(): Promise<Client> {
  const client = new Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw new Error(
      `PostgreSQL is not reachable at ${DATABASE_URL} (${error instanceof Error ? error.message : String(error)}): start it or set REINS_TEST_DATABASE_URL`,
    );
  }
  return client;
}

/** `?` placeholders to `$1..$n`, leaving quoted strings and identifiers alone. */
function numberPlaceholders(sql: string): string {
  let index = 0;
  return sql.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|\?/g, (match) => (match === '?' ? `$${++index}` : match));
}

auditLogConformance({
  name: 'postgresql',
  async create() {
    const schema = `reins_test_${randomBytes(6).toString('hex')}`;
    const client = await connect();
    await client.query(`create schema ${escapeIdentifier(schema)}`);
    await client.query(`set search_path to ${escapeIdentifier(schema)}`);
    return {
      open: (options) => PostgresAuditLog.open({ connectionString: DATABASE_URL, schema, ...options }),
      execute: async (sql, params = []) => {
        await client.query(numberPlaceholders(sql), [...params]);
      },
      setSchemaVersion: async (version) => {
        await client.query('update reins_schema set version = $1', [version]);
      },
      refuseInserts: async (table) => {
        await client.query(
          `create function refuse_${table}() returns trigger language plpgsql
             as $$ begin raise exception 'refused by the test'; end $$;
           create trigger refuse_${table} before insert on ${table}
             for each statement execute function refuse_${table}()`,
        );
        return async () => {
          await client.query(`drop function refuse_${table}() cascade`);
        };
      },
      holdWriteLock: async () => {
        const holder = await connect();
        await holder.query('begin');
        await holder.query(`select pg_advisory_xact_lock(${advisoryLockKey('append', schema)})`);
        return async () => {
          await holder.query('rollback');
          await holder.end();
        };
      },
      destroy: async () => {
        try {
          await client.query(`drop schema if exists ${escapeIdentifier(schema)} cascade`);
        } finally {
          await client.end();
        }
      },
    };
  },
});

describe('PostgreSQL audit log specifics', () => {
  it('stores any string exactly (binary arrays), and an event with a NUL in a searchable field with U+FFFD there', async () => {
    const schema = `reins_test_${randomBytes(6).toString('hex')}`;
    const client = await connect();
    const log = await PostgresAuditLog.open({ connectionString: DATABASE_URL, schema });
    try {
      const awkward = [
        'a"b\\c,{d} e',
        'NULL',
        '',
        'ünï©ødé 🦊',
        "quote ' and \\\\ twice",
        'x'.repeat(100_000),
      ];
      const events = awkward.map((text, index) => ({
        ...intentEvent(index, { sessionId: text || 'empty-args', agentId: `agent ${text.slice(0, 20)}` }),
        args: { text },
      }));
      // PostgreSQL text refuses NUL: the column holds U+FFFD, the body the value (escaped), and no
      // event is refused for it (a rejected credential's claims are recorded whatever they hold)
      const poisoned = intentEvent(99, { sessionId: 'nul\u0000inside' });
      const results = await Promise.allSettled([...events, poisoned].map((event) => log.append(event)));
      expect(results.every((result) => result.status === 'fulfilled')).toBe(true);
      const stored = await log.query({});
      expect(stored.map((record) => record.event)).toEqual([...events, poisoned]);
      expect(await log.query({ sessionId: 'a"b\\c,{d} e' })).toHaveLength(1);
      expect(await log.query({ sessionId: 'nul\ufffdinside' })).toHaveLength(1);
      expect(await log.verify()).toMatchObject({ ok: true, checked: awkward.length + 1 });
    } finally {
      await log.close();
      await client.query(`drop schema if exists ${escapeIdentifier(schema)} cascade`);
      await client.end();
    }
  });

  it('keeps stores in different schemas apart', async () => {
    const schemas = [0, 1].map(() => `reins_test_${randomBytes(6).toString('hex')}`);
    const client = await connect();
    const logs = await Promise.all(
      schemas.map((schema) => PostgresAuditLog.open({ connectionString: DATABASE_URL, schema })),
    );
    try {
      await Promise.all(logs.map((log, which) => log.append(intentEvent(which))));
      for (const [which, log] of logs.entries()) {
        const records = await log.query({});
        expect(records.map((record) => [record.seq, record.event.decisionId])).toEqual([[1, `d${which}`]]);
      }
    } finally {
      for (const log of logs) await log.close();
      for (const schema of schemas)
        await client.query(`drop schema if exists ${escapeIdentifier(schema)} cascade`);
      await client.end();
    }
  });

  it('fails to open, clearly, when the server cannot be reached', async () => {
    await expect(
      PostgresAuditLog.open({
        connectionString: 'postgres://postgres@127.0.0.1:1/none',
        connectTimeoutMs: 2_000,
      }),
    ).rejects.toMatchObject({ code: 'audit_unavailable', message: /cannot open audit log .*127\.0\.0\.1:1/ });
  });
});
