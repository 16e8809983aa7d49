/**
 * @module test/conformance/identity-postgres.test
 * The identity store conformance suite against PostgreSQL. Every backing store is a fresh schema of the
 * test database (REINS_TEST_DATABASE_URL, default: local trust auth), dropped afterwards. Postgres must
 * be running: an unreachable server fails the suite, it is never skipped. Then what only this backend
 * does: sharing the audit log's schema, surviving a dropped listening connection, corrupt rows.
 */

import { randomBytes } from 'node:crypto';
import { Client, escapeIdentifier } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { IdentityChange } from '../../src/spec/identity.js';
import { PostgresAuditLog } from '../../src/store/postgres/postgres-audit-log.js';
import { channelOf, PostgresIdentityStore } from '../../src/store/postgres/postgres-identity-store.js';
import { POSTGRES_SCHEMA_VERSION } from '../../src/store/postgres/postgres-migrations.js';
import { intentEvent } from '../support/audit-fixtures.js';
import { eventually } from '../support/eventually.js';
import { agentRecord, identityStoreConformance, revocation, waitFor } from './identity-store.conformance.js';

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

const freshSchema = () => `reins_test_${randomBytes(6).toString('hex')}`;

identityStoreConformance({
  name: 'postgresql',
  async create() {
    const schema = freshSchema();
    const client = await connect();
    return {
      open: () => PostgresIdentityStore.open({ connectionString: DATABASE_URL, schema }),
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

describe('PostgreSQL identity store specifics', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
  });

  async function freshStore(): Promise<{ schema: string; admin: Client }> {
    const schema = freshSchema();
    const admin = await connect();
    cleanup.push(async () => {
      await admin.query(`drop schema if exists ${escapeIdentifier(schema)} cascade`);
      await admin.end();
    });
    return { schema, admin };
  }

  async function openStore(schema: string, options: { healthCheckMs?: number } = {}) {
    const store = await PostgresIdentityStore.open({ connectionString: DATABASE_URL, schema, ...options });
    cleanup.push(() => store.close());
    return store;
  }

  it('shares the audit log schema, migrating a schema the audit log created', async () => {
    const { schema, admin } = await freshStore();
    const log = await PostgresAuditLog.open({ connectionString: DATABASE_URL, schema });
    await log.append(intentEvent(1));
    await log.close();
    await admin.query(`update ${escapeIdentifier(schema)}.reins_schema set version = 1`);
    await admin.query(`drop table ${escapeIdentifier(schema)}.agents, ${escapeIdentifier(schema)}.signing_keys,
      ${escapeIdentifier(schema)}.revocations, ${escapeIdentifier(schema)}.identity_changes,
      ${escapeIdentifier(schema)}.identity_meta, ${escapeIdentifier(schema)}.approvals,
      ${escapeIdentifier(schema)}.approval_overrides, ${escapeIdentifier(schema)}.session_control,
      ${escapeIdentifier(schema)}.oversight_changes, ${escapeIdentifier(schema)}.counter_entries,
      ${escapeIdentifier(schema)}.audit_captures, ${escapeIdentifier(schema)}.leases`);
    await admin.query(`drop function ${escapeIdentifier(schema)}.reins_reserve`);
    const identities = await openStore(schema);
    await identities.createAgent(agentRecord('support-bot'));
    const again = await PostgresAuditLog.open({ connectionString: DATABASE_URL, schema });
    cleanup.push(() => again.close());
    await again.append(intentEvent(2));
    expect(await again.verify()).toMatchObject({ ok: true, checked: 2 });
    const version = await admin.query(`select version from ${escapeIdentifier(schema)}.reins_schema`);
    expect(version.rows).toEqual([{ version: POSTGRES_SCHEMA_VERSION }]);
  });

  it('reconnects a dropped listening connection and delivers what was missed meanwhile', async () => {
    const { schema, admin } = await freshStore();
    const writer = await openStore(schema);
    const reader = await openStore(schema, { healthCheckMs: 60_000 });
    const seen: IdentityChange[] = [];
    reader.onChange((change) => seen.push(change));
    const listeners = async () =>
      (
        await admin.query<{ pid: number }>(
          `select pid from pg_stat_activity where application_name = 'reins-listen' and query like $1`,
          [`%${channelOf(schema)}%`],
        )
      ).rows.map((row) => row.pid);
    const before = await listeners();
    expect(before).toHaveLength(2); // one per store instance
    // kill both listening connections: the processes must survive, and both must come back
    for (const pid of before) await admin.query('select pg_terminate_backend($1)', [pid]);
    await writer.revoke(revocation('during-outage', new Date(Date.now() + 60_000)));
    await waitFor(() => seen.length >= 1, 'the revocation made while the reader was not listening', 5_000);
    const back = await eventually(
      async () => {
        const pids = await listeners();
        return pids.length === 2 && pids;
      },
      { timeoutMs: 5_000, intervalMs: 20, what: 'both listening connections to come back' },
    );
    expect(back).toHaveLength(2);
    expect(back.filter((pid) => before.includes(pid))).toEqual([]);
    await writer.revoke(revocation('after-reconnect', new Date(Date.now() + 60_000)));
    await waitFor(() => seen.length >= 2, 'the revocation made after reconnecting', 5_000);
    expect(seen.map((change) => change.kind === 'revocation' && change.revocation.id)).toEqual([
      'during-outage',
      'after-reconnect',
    ]);
  });

  it('fails clearly on a corrupt row', async () => {
    const { schema, admin } = await freshStore();
    const identities = await openStore(schema);
    await identities.createAgent(agentRecord('support-bot'));
    await admin.query(`update ${escapeIdentifier(schema)}.agents set body = '{"v":2}'`);
    await expect(identities.getAgent('support-bot')).rejects.toMatchObject({
      code: 'internal_error',
      message: expect.stringMatching(/^corrupt agent `support-bot` in the identity store: /),
    });
  });

  it('keeps notifying past a corrupt change row, telling listeners everything instead', async () => {
    const { schema, admin } = await freshStore();
    const writer = await openStore(schema);
    const reader = await openStore(schema);
    await writer.createAgent(agentRecord('support-bot'));
    const live = revocation('t1', new Date(Date.now() + 60_000));
    await writer.revoke(live);
    const seen: IdentityChange[] = [];
    reader.onChange((change) => seen.push(change));
    await admin.query(
      `insert into ${escapeIdentifier(schema)}.identity_changes (kind, ref, body, at) values ('revocation', 'token:x', 'garbage', 0)`,
    );
    const next = revocation('t2', new Date(Date.now() + 60_000));
    await writer.revoke(next);
    // the unreadable row makes the reader tell everything: the agent, created before it subscribed
    await waitFor(
      () =>
        seen.some((change) => change.kind === 'agent') &&
        seen.some((change) => change.kind === 'revocation' && change.revocation.id === 't2'),
      'the resynchronisation and t2',
    );
    expect(seen).toEqual(
      expect.arrayContaining([
        { kind: 'agent', id: 'support-bot' },
        { kind: 'revocation', revocation: live },
        { kind: 'revocation', revocation: next },
      ]),
    );
  });

  it('fails to open, clearly, when the server cannot be reached', async () => {
    await expect(
      PostgresIdentityStore.open({
        connectionString: 'postgres://postgres@127.0.0.1:1/none',
        connectTimeoutMs: 2_000,
      }),
    ).rejects.toMatchObject({
      code: 'store_unavailable',
      message: /cannot open identity store .*127\.0\.0\.1:1/,
    });
  });
});
