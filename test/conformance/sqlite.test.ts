/**
 * @module test/conformance/sqlite.test
 * The audit log conformance suite against the embedded SQLite store: a file (`causal` durability, the
 * default; also `full` with lone events written inline, and `process` durability) and
 * `:memory:` (inline writer, what unit tests use).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { AuditLogOptions } from '../../src/store/audit-log.js';
import { SqliteAuditLog, type SqliteAuditLogOptions } from '../../src/store/sqlite/sqlite-audit-log.js';
import { auditLogConformance } from './audit-log.conformance.js';

function fileBackend(
  name: string,
  extra: Pick<SqliteAuditLogOptions, 'parallelVerifyMin' | 'inlineMaxBatch' | 'durability'>,
) {
  return {
    name,
    async create() {
      const directory = mkdtempSync(join(tmpdir(), 'reins-conformance-'));
      const path = join(directory, 'reins.db');
      const withDatabase = (work: (database: Database.Database) => void) => {
        const database = new Database(path);
        database.pragma('busy_timeout = 5000');
        try {
          work(database);
        } finally {
          database.close();
        }
      };
      return {
        open: async (options?: AuditLogOptions) => new SqliteAuditLog({ path, ...options, ...extra }),
        execute: async (sql: string, params: readonly unknown[] = []) =>
          withDatabase((database) => database.prepare(sql).run(...params)),
        setSchemaVersion: async (version: number) =>
          withDatabase((database) => database.pragma(`user_version = ${version}`)),
        refuseInserts: async (table: string) => {
          withDatabase((database) =>
            database.exec(
              `create trigger refuse_${table} before insert on ${table} begin select raise(abort, 'refused by the test'); end`,
            ),
          );
          return async () => withDatabase((database) => database.exec(`drop trigger refuse_${table}`));
        },
        holdWriteLock: async () => {
          const holder = new Database(path);
          holder.exec('BEGIN IMMEDIATE');
          return async () => {
            holder.exec('ROLLBACK');
            holder.close();
          };
        },
        destroy: async () => rmSync(directory, { recursive: true, force: true }),
      };
    },
  };
}

// the default: `causal` durability (outcomes asked to sync later answered before their fsync; 0028)
auditLogConformance(fileBackend('sqlite file', {}));
// the same suite with verification split across two threads at a checkpoint, even for small logs
auditLogConformance(fileBackend('sqlite file, parallel verify', { parallelVerifyMin: 20 }));
// lone events written on the main thread while the writer thread is idle, with full durability
auditLogConformance(
  fileBackend('sqlite file, full durability, inline when idle', { inlineMaxBatch: 1, durability: 'full' }),
);
// commits not fsync'd one by one (decision 0010): the same guarantees within a running machine
auditLogConformance(fileBackend('sqlite file, durability process', { durability: 'process' }));
