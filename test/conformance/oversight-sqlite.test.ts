/**
 * @module test/conformance/oversight-sqlite.test
 * The oversight store conformance suite against the embedded SQLite store (a fresh file per test;
 * two instances on one file stand for two processes).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteOversightStore } from '../../src/store/sqlite/sqlite-oversight-store.js';
import { oversightStoreConformance } from './oversight-store.conformance.js';

oversightStoreConformance({
  name: 'sqlite',
  async create() {
    const directory = mkdtempSync(join(tmpdir(), 'reins-oversight-'));
    const path = join(directory, 'audit.db');
    return {
      open: async () => new SqliteOversightStore({ path, pollIntervalMs: 5 }),
      destroy: async () => rmSync(directory, { recursive: true, force: true }),
    };
  },
});
