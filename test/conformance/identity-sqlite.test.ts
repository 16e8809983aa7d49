/**
 * @module test/conformance/identity-sqlite.test
 * The identity store conformance suite against the embedded SQLite store (a file: every instance has
 * its own connection, as separate processes would), then what only this backend does: sharing the
 * audit log's file, `:memory:`, and corrupt rows.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { IdentityChange } from '../../src/spec/identity.js';
import { SqliteAuditLog } from '../../src/store/sqlite/sqlite-audit-log.js';
import { SqliteIdentityStore } from '../../src/store/sqlite/sqlite-identity-store.js';
import { SQLITE_SCHEMA_VERSION } from '../../src/store/sqlite/sqlite-migrations.js';
import { intentEvent } from '../support/audit-fixtures.js';
import { agentRecord, identityStoreConformance, revocation, waitFor } from './identity-store.conformance.js';

identityStoreConformance({
  name: 'sqlite file',
  async create() {
    const directory = mkdtempSync(join(tmpdir(), 'reins-identity-'));
    const path = join(directory, 'audit.db');
    return {
      open: async () => new SqliteIdentityStore({ path }),
      destroy: async () => rmSync(directory, { recursive: true, force: true }),
    };
  },
});

describe('SQLite identity store specifics', () => {
  const directories: string[] = [];
  const freshPath = () => {
    const directory = mkdtempSync(join(tmpdir(), 'reins-identity-'));
    directories.push(directory);
    return join(directory, 'nested', 'audit.db');
  };
  afterEach(() => {
    for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
  });

  it('shares the audit log file, migrating a file the audit log created', async () => {
    const path = freshPath();
    const log = new SqliteAuditLog({ path });
    await log.append(intentEvent(1));
    await log.close();
    const identities = new SqliteIdentityStore({ path });
    const again = new SqliteAuditLog({ path });
    try {
      await identities.createAgent(agentRecord('support-bot'));
      await again.append(intentEvent(2));
      expect(await again.verify()).toMatchObject({ ok: true, checked: 2 });
      expect(await identities.getAgent('support-bot')).toMatchObject({ id: 'support-bot' });
    } finally {
      await again.close();
      await identities.close();
    }
    const database = new Database(path, { readonly: true });
    expect(database.pragma('user_version', { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
    database.close();
  });

  it('works in memory, telling its own listeners', async () => {
    const identities = new SqliteIdentityStore({ path: ':memory:' });
    try {
      const seen: IdentityChange[] = [];
      identities.onChange((change) => seen.push(change));
      await identities.createAgent(agentRecord('support-bot'));
      await identities.setAgentState('support-bot', 'suspended', { by: 'admin', reason: 'test' });
      expect(seen).toEqual([
        { kind: 'agent', id: 'support-bot' },
        { kind: 'agent', id: 'support-bot' },
      ]);
    } finally {
      await identities.close();
    }
  });

  it('fails clearly on a corrupt row', async () => {
    const path = freshPath();
    const identities = new SqliteIdentityStore({ path });
    try {
      await identities.createAgent(agentRecord('support-bot'));
      await identities.revoke(revocation('t1', new Date(Date.now() + 60_000)));
      const database = new Database(path);
      database.pragma('busy_timeout = 5000');
      database.prepare('update agents set body = \'{"v":1,"id":"support-bot"}\'').run();
      database.prepare("update revocations set body = 'not json'").run();
      database.close();
      await expect(identities.getAgent('support-bot')).rejects.toMatchObject({
        code: 'internal_error',
        message: expect.stringMatching(/^corrupt agent `support-bot` in the identity store: owner: /),
      });
      await expect(identities.revocations(new Date())).rejects.toMatchObject({
        message: expect.stringMatching(/^corrupt revocation in the identity store/),
      });
    } finally {
      await identities.close();
    }
  });

  it('keeps notifying past a corrupt change row, telling listeners everything instead', async () => {
    const path = freshPath();
    const writer = new SqliteIdentityStore({ path });
    const reader = new SqliteIdentityStore({ path, pollIntervalMs: 10 });
    try {
      await writer.createAgent(agentRecord('support-bot'));
      const live = revocation('t1', new Date(Date.now() + 60_000));
      await writer.revoke(live);
      const seen: IdentityChange[] = [];
      reader.onChange((change) => seen.push(change));
      const database = new Database(path);
      database.pragma('busy_timeout = 5000');
      database
        .prepare(
          "insert into identity_changes (kind, ref, body, at) values ('revocation', 'token:x', 'garbage', 0)",
        )
        .run();
      database.close();
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
    } finally {
      await writer.close();
      await reader.close();
    }
  });

  it('notices changes from another connection', async () => {
    const path = freshPath();
    const writer = new SqliteIdentityStore({ path });
    const reader = new SqliteIdentityStore({ path, pollIntervalMs: 10 });
    try {
      const seen: IdentityChange[] = [];
      reader.onChange((change) => seen.push(change));
      await writer.revoke(revocation('t1', new Date(Date.now() + 60_000)));
      // how fast is a figure for BENCHMARKS.md; here only that it arrives, once
      await waitFor(() => seen.length >= 1, 'the revocation', 5_000);
      expect(seen).toHaveLength(1);
    } finally {
      await writer.close();
      await reader.close();
    }
  });
});
