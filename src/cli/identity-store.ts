/**
 * @module cli/identity-store
 * The identity store on a command's backing store (PostgreSQL when a connection string is named, else
 * the SQLite file). Apart from cli/audit-store (which re-exports it) so that `reins mcp` checks its
 * agent, before it starts its upstream, without loading the audit log's and the keys' code: those load
 * while the upstream starts (issue 20).
 */
import { SqliteIdentityStore } from '../store/sqlite/sqlite-identity-store.js';
import type { IdentityStore } from '../store/state-stores.js';
import { DEFAULT_AUDIT_PATH } from './io.js';
import { databaseUrlOf, type StoreOptions } from './store-location.js';

/** The identity store on the same backing store as the audit log. */
export async function openIdentityStore(options: StoreOptions): Promise<IdentityStore> {
  const url = databaseUrlOf(options);
  if (url) {
    const { PostgresIdentityStore } = await import('../store/postgres/postgres-identity-store.js');
    return PostgresIdentityStore.open({ connectionString: url });
  }
  return new SqliteIdentityStore({ path: options.db ?? DEFAULT_AUDIT_PATH });
}
