/**
 * @module test/conformance/counter-postgres.test
 * The counter store conformance suite against PostgreSQL: a fresh schema per test, dropped afterwards;
 * two instances on one schema stand for two gateways. Postgres must be running (never skipped).
 */
import { randomBytes } from 'node:crypto';
import { Client, escapeIdentifier } from 'pg';
import { PostgresOversightStore } from '../../src/store/postgres/postgres-oversight-store.js';
import { counterStoreConformance } from './counter-store.conformance.js';

const DATABASE_URL = process.env.REINS_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

counterStoreConformance({
  name: 'postgresql',
  async create() {
    const schema = `reins_test_${randomBytes(6).toString('hex')}`;
    return {
      open: () => PostgresOversightStore.open({ connectionString: DATABASE_URL, schema }),
      destroy: async () => {
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
