/**
 * @module test/conformance/counter-stores.test
 * The counter store conformance suite against the in-process store and the embedded SQLite store
 * (two instances on one file stand for two processes). PostgreSQL: counter-postgres.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryCounterStore } from '../../src/store/memory-counter-store.js';
import { SqliteOversightStore } from '../../src/store/sqlite/sqlite-oversight-store.js';
import { counterStoreConformance } from './counter-store.conformance.js';

counterStoreConformance({
  name: 'memory',
  async create() {
    const counters = new MemoryCounterStore();
    return { open: async () => ({ counters, close: async () => {} }), destroy: async () => {} };
  },
});

counterStoreConformance({
  name: 'sqlite',
  async create() {
    const directory = mkdtempSync(join(tmpdir(), 'reins-counters-'));
    const path = join(directory, 'audit.db');
    return {
      open: async () => new SqliteOversightStore({ path, pollIntervalMs: 5 }),
      destroy: async () => rmSync(directory, { recursive: true, force: true }),
    };
  },
});
