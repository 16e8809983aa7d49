/**
 * @module store/postgres/postgres-connections
 * The connection handling every PostgreSQL store shares: pools that survive broken connections, and
 * writes that run in one transaction holding the store's advisory lock (so change ids commit in the
 * order they were given), rolled back and reported as the store's failure when anything goes wrong.
 */
import { Pool, type PoolClient, type QueryResult, type QueryResultRow } from 'pg';
import { ReinsError } from '../../spec/errors.js';

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** Server settings for a pool's sessions. */
export interface SessionSettings {
  /** A session idle inside a transaction for longer is ended by the server (its transaction fails). */
  readonly idle_in_transaction_session_timeout?: number;
}

export function createPool(
  connectionString: string,
  max: number,
  connectTimeoutMs: number = DEFAULT_CONNECT_TIMEOUT_MS,
  settings: SessionSettings = {},
): Pool {
  const pool = new Pool({
    connectionString,
    max,
    connectionTimeoutMillis: connectTimeoutMs,
    keepAlive: true,
    application_name: 'reins',
    ...settings,
  });
  // A connection that breaks (server restart, terminated backend, network) emits 'error': the pool
  // drops an idle one; one in use fails its current or next query, which the caller reports and then
  // discards. Without these listeners the event would end the process.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/** Turns a driver failure into the store's error (a ReinsError of the work itself passes unchanged). */
export type FailureReport = (operation: 'read' | 'write', error: unknown) => ReinsError;

/** A query on the pool; a failure is reported as the store's. */
export async function readQuery<R extends QueryResultRow>(
  pool: Pool,
  text: string,
  values: readonly unknown[],
  failed: FailureReport,
): Promise<QueryResult<R>> {
  try {
    return await pool.query<R>(text, [...values]);
  } catch (error) {
    throw failed('read', error);
  }
}

/**
 * Runs `work` in a read-committed transaction that first takes the advisory lock `lockKey` (one
 * writer at a time per schema and store). On any failure the transaction is rolled back (a connection
 * that cannot even roll back is discarded) and the error rethrown: a ReinsError as it is, anything
 * else as the store's write failure.
 */
export async function lockedTransaction<T>(
  pool: Pool,
  lockKey: string,
  work: (client: PoolClient) => Promise<T>,
  failed: FailureReport,
): Promise<T> {
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw failed('write', error);
  }
  try {
    await client.query('begin isolation level read committed');
    await client.query(`select pg_advisory_xact_lock(${lockKey})`);
    const result = await work(client);
    await client.query('commit');
    client.release();
    return result;
  } catch (error) {
    try {
      await client.query('rollback');
      client.release();
    } catch {
      client.release(true);
    }
    if (error instanceof ReinsError) throw error;
    throw failed('write', error);
  }
}
