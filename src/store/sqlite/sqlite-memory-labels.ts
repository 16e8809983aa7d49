/**
 * @module store/sqlite/sqlite-memory-labels
 * The memory guard's labels in a SQLite file of their own (next to the audit database), shared by every
 * process that fronts the same memory server. A separate file keeps the audit schema and its
 * migrations untouched.
 */

import Database from 'better-sqlite3';
import type { LabelledKey, MemoryLabel, MemoryLabelIndex } from '../../spec/memory-labels.js';
import { ensurePrivateFile } from '../private-files.js';

interface LabelRow {
  key: string;
  tenant: string;
  owner: string | null;
  agent: string;
  at: number;
}

export class SqliteMemoryLabelIndex implements MemoryLabelIndex {
  private readonly database: Database.Database;
  private readonly insert: Database.Statement;
  private readonly select: Database.Statement;
  private readonly delete: Database.Statement;

  constructor(path: string) {
    ensurePrivateFile(path);
    this.database = new Database(path);
    this.database.pragma('journal_mode = WAL');
    this.database.pragma('synchronous = FULL');
    this.database.pragma('busy_timeout = 5000');
    this.database.exec(
      `create table if not exists memory_labels (
         key text primary key, tenant text not null, owner text, agent text not null, at integer not null)`,
    );
    this.insert = this.database.prepare(
      'insert into memory_labels (key, tenant, owner, agent, at) values (?, ?, ?, ?, ?) on conflict (key) do nothing',
    );
    this.select = this.database.prepare(
      'select key, tenant, owner, agent, at from memory_labels where key = ?',
    );
    this.delete = this.database.prepare('delete from memory_labels where key = ?');
  }

  async label(entries: readonly LabelledKey[]): Promise<void> {
    this.database.transaction(() => {
      for (const { key, label } of entries)
        this.insert.run(key, label.tenant, label.owner ?? null, label.agent, label.at);
    })();
  }

  async get(keys: readonly string[]): Promise<ReadonlyMap<string, MemoryLabel>> {
    const found = new Map<string, MemoryLabel>();
    for (const key of keys) {
      const row = this.select.get(key) as LabelRow | undefined;
      if (row === undefined) continue;
      found.set(key, {
        tenant: row.tenant,
        agent: row.agent,
        at: row.at,
        ...(row.owner === null ? {} : { owner: row.owner }),
      });
    }
    return found;
  }

  async remove(keys: readonly string[]): Promise<void> {
    this.database.transaction(() => {
      for (const key of keys) this.delete.run(key);
    })();
  }

  async close(): Promise<void> {
    this.database.close();
  }
}
