/**
 * @module store/sqlite/sqlite-user-store
 * Control-plane users in the embedded SQLite store (the same file as the audit log). The table is
 * created if missing rather than by a numbered store migration: it belongs to the control plane, and
 * an audit store that never served a console does not need it.
 */
import type Database from 'better-sqlite3';
import { readUser, type UserRecordV1, type UserStore, userExists } from '../user-store.js';
import { openSqliteStore } from './sqlite-migrations.js';

export class SqliteUserStore implements UserStore {
  private readonly database: Database.Database;

  constructor(options: { path: string }) {
    this.database = openSqliteStore(options.path, 'users store', 'store_unavailable');
    this.database.exec(`create table if not exists control_users (
      id text primary key,
      token_hash text not null unique,
      body text not null
    )`);
  }

  async create(user: UserRecordV1): Promise<void> {
    const record = readUser(user);
    try {
      this.database
        .prepare('insert into control_users (id, token_hash, body) values (?, ?, ?)')
        .run(record.id, record.tokenHash, JSON.stringify(record));
    } catch (error) {
      if ((error as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) {
        throw userExists(record.id);
      }
      throw error;
    }
  }

  async get(id: string): Promise<UserRecordV1 | undefined> {
    return this.parse(this.database.prepare('select body from control_users where id = ?').get(id));
  }

  async byTokenHash(tokenHash: string): Promise<UserRecordV1 | undefined> {
    return this.parse(
      this.database.prepare('select body from control_users where token_hash = ?').get(tokenHash),
    );
  }

  async list(): Promise<UserRecordV1[]> {
    const rows = this.database.prepare('select body from control_users order by id').all();
    return rows.map((row) => this.parse(row) as UserRecordV1);
  }

  async setTokenHash(id: string, tokenHash: string): Promise<boolean> {
    const user = await this.get(id);
    if (user === undefined) return false;
    const updated = { ...user, tokenHash };
    this.database
      .prepare('update control_users set token_hash = ?, body = ? where id = ?')
      .run(tokenHash, JSON.stringify(updated), id);
    return true;
  }

  async delete(id: string): Promise<boolean> {
    return this.database.prepare('delete from control_users where id = ?').run(id).changes > 0;
  }

  async close(): Promise<void> {
    this.database.close();
  }

  private parse(row: unknown): UserRecordV1 | undefined {
    if (row === undefined) return undefined;
    return readUser(JSON.parse((row as { body: string }).body));
  }
}
