/**
 * @module test/support/postgres-database
 * A PostgreSQL database of its own for one test, dropped afterwards: the built CLI keeps a deployment's
 * tables in the `public` schema of the database its URL names, so a fresh database is how tests that
 * run real `reins` processes on PostgreSQL stay apart. The server is REINS_TEST_DATABASE_URL (default
 * local trust auth); an unreachable server fails the test that asked, with what to do about it.
 */
import { randomBytes } from 'node:crypto';
import { Client, escapeIdentifier } from 'pg';

export const ADMIN_URL = process.env.REINS_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  /** Connection string of the new database. */
  readonly url: string;
  /** Drops it (connections still open are ended). */
  drop(): Promise<void>;
}

/** Creates an empty database named `<prefix>_<random>`. */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await admin(`create database ${escapeIdentifier(name)}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => admin(`drop database if exists ${escapeIdentifier(name)} with (force)`),
  };
}

async function admin(sql: string): Promise<void> {
  const client = new Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${ADMIN_URL} (${error instanceof Error ? error.message : String(error)}): start it or set REINS_TEST_DATABASE_URL`,
    );
  }
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
