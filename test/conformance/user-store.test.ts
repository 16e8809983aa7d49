/**
 * @module test/conformance/user-store.test
 * The users store conformance suite on SQLite (a temporary file) and on the local PostgreSQL (a fresh
 * schema each, dropped afterwards; an unreachable server fails the suite).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, escapeIdentifier } from 'pg';
import { PostgresUserStore } from '../../src/store/postgres/postgres-user-store.js';
import { SqliteUserStore } from '../../src/store/sqlite/sqlite-user-store.js';
import { userStoreConformance } from './user-store.conformance.js';

const DATABASE_URL = process.env.REINS_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

userStoreConformance({
  name: 'sqlite',
  async create() {
    const directory = mkdtempSync(join(tmpdir(), 'reins-users-'));
    return {
      store: new SqliteUserStore({ path: join(directory, 'reins.db') }),
      dispose: async () => rmSync(directory, { recursive: true, force: true }),
    };
  },
});

userStoreConformance({
  name: 'postgresql',
  async create() {
    const schema = `reins_test_${randomBytes(6).toString('hex')}`;
    const store = await PostgresUserStore.open({ connectionString: DATABASE_URL, schema });
    return {
      store,
      dispose: async () => {
        const client = new Client({ connectionString: DATABASE_URL });
        await client.connect();
        try {
          await client.query(`drop schema if exists ${escapeIdentifier(schema)} cascade`);
        } finally {
          await client.end();
        }
      },
    };
  },
});
