/**
 * @module store/postgres/postgres-user-store
 * Control-plane users in a PostgreSQL schema (usually the audit log's), shared by every `reins serve`
 * on that database. Like the SQLite store, the table is created if missing: it belongs to the control
 * plane, not to the audit store's numbered migrations.
 */
import type { Pool } from 'pg';
import { describeError, ReinsError } from '../../spec/errors.js';
import { readUser, type UserRecordV1, type UserStore, userExists } from '../user-store.js';
import { createPool } from './postgres-connections.js';
import { describeTarget, quoteIdentifier } from './postgres-migrations.js';

export interface PostgresUserStoreOptions {
  readonly connectionString: string;
  /** Default `public`. */
  readonly schema?: string;
}

const UNIQUE_VIOLATION = '23505';

export class PostgresUserStore implements UserStore {
  private constructor(
    private readonly pool: Pool,
    private readonly table: string,
  ) {}

  static async open(options: PostgresUserStoreOptions): Promise<PostgresUserStore> {
    const schema = quoteIdentifier(options.schema ?? 'public');
    const pool = createPool(options.connectionString, 2);
    const table = `${schema}.control_users`;
    try {
      await pool.query(`create schema if not exists ${schema}`);
      await pool.query(`create table if not exists ${table} (
        id text primary key,
        token_hash text not null unique,
        body jsonb not null
      )`);
    } catch (error) {
      await pool.end().catch(() => {});
      throw new ReinsError(
        'store_unavailable',
        `cannot open the users store on ${describeTarget(options.connectionString)}: ${describeError(error)}`,
      );
    }
    return new PostgresUserStore(pool, table);
  }

  async create(user: UserRecordV1): Promise<void> {
    const record = readUser(user);
    try {
      await this.pool.query(`insert into ${this.table} (id, token_hash, body) values ($1, $2, $3)`, [
        record.id,
        record.tokenHash,
        JSON.stringify(record),
      ]);
    } catch (error) {
      if ((error as { code?: string }).code === UNIQUE_VIOLATION) {
        throw userExists(record.id);
      }
      throw error;
    }
  }

  async get(id: string): Promise<UserRecordV1 | undefined> {
    return this.one(`select body from ${this.table} where id = $1`, [id]);
  }

  async byTokenHash(tokenHash: string): Promise<UserRecordV1 | undefined> {
    return this.one(`select body from ${this.table} where token_hash = $1`, [tokenHash]);
  }

  async list(): Promise<UserRecordV1[]> {
    const result = await this.pool.query<{ body: unknown }>(`select body from ${this.table} order by id`);
    return result.rows.map((row) => readUser(row.body));
  }

  async setTokenHash(id: string, tokenHash: string): Promise<boolean> {
    const result = await this.pool.query(
      `update ${this.table} set token_hash = $2, body = jsonb_set(body, '{tokenHash}', to_jsonb($2::text)) where id = $1`,
      [id, tokenHash],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.pool.query(`delete from ${this.table} where id = $1`, [id]);
    return (result.rowCount ?? 0) > 0;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async one(sql: string, values: unknown[]): Promise<UserRecordV1 | undefined> {
    const result = await this.pool.query<{ body: unknown }>(sql, values);
    const row = result.rows[0];
    return row === undefined ? undefined : readUser(row.body);
  }
}
