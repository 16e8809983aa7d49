/**
 * @module store/sqlite/sqlite-wal-sync.test
 * The WAL sync of `causal` durability: callers who ask while a sync is under way share the next one
 * (which starts after their commits), the durable mark follows the head read before each fsync, and a
 * record the log does not hold is never reported durable.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { DirectoryNotOpened } from '../directory-sync.js';
import { WalSync } from './sqlite-wal-sync.js';

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function walFile(): { database: Database.Database; path: string } {
  const directory = mkdtempSync(join(tmpdir(), 'reins-wal-sync-'));
  directories.push(directory);
  const path = join(directory, 'log.db');
  const database = new Database(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.exec('create table t (seq integer primary key)');
  return { database, path };
}

describe('WalSync', () => {
  it('groups the syncs asked for while one is under way, and marks the head each began at', async () => {
    const { database, path } = walFile();
    let heads = 0;
    let head = 0;
    const sync = new WalSync(`${path}-wal`, () => {
      heads++;
      return head;
    });
    database.prepare('insert into t values (1)').run();
    head = 1;
    const first = sync.sync();
    database.prepare('insert into t values (2)').run();
    head = 2;
    const [a, b, c] = await Promise.all([first, sync.sync(), sync.sync()]);
    // the first covered record 1; the two asked meanwhile shared one more round, which covered 2
    expect([a, b, c]).toEqual([1, 2, 2]);
    expect(heads).toBe(2);
    expect(sync.through).toBe(2);
    await expect(sync.durable(2)).resolves.toBeUndefined();
    sync.close();
    database.close();
  });

  it('refuses to call durable a record the log does not hold', async () => {
    const { database, path } = walFile();
    const sync = new WalSync(`${path}-wal`, () => 3);
    await expect(sync.durable(3)).resolves.toBeUndefined();
    await expect(sync.durable(4)).rejects.toThrow(/record 4 is not in the audit log \(head 3\)/);
    sync.close();
    database.close();
  });

  it('fails a round it cannot begin without failing the log for good', async () => {
    const { database, path } = walFile();
    let broken = true;
    const sync = new WalSync(`${path}-wal`, () => {
      if (broken) throw new Error('database is locked');
      return 1;
    });
    await expect(sync.sync()).rejects.toThrow(/cannot sync the audit log .*database is locked/);
    expect(sync.failure).toBeUndefined();
    broken = false;
    await expect(sync.sync()).resolves.toBe(1);
    sync.close();
    database.close();
  });

  it('never calls a record durable when the WAL file is not where it looks (fail closed)', async () => {
    const { database, path } = walFile();
    const sync = new WalSync(`${path}.elsewhere-wal`, () => 1);
    await expect(sync.durable(1)).rejects.toThrow(/write-ahead log file does not exist/);
    expect(sync.through).toBe(0);
    database.close();
  });
});

describe('WalSync and the WAL file name', () => {
  it('syncs the directory of a newly opened WAL file once, before its first report of durability', async () => {
    const { database, path } = walFile();
    const synced: string[] = [];
    let through = -1;
    const sync = new WalSync(
      `${path}-wal`,
      () => 1,
      async (directory) => {
        // the durable mark must not move before the directory is on disk
        through = sync.through;
        synced.push(directory);
      },
    );
    database.prepare('insert into t values (1)').run();
    await expect(sync.sync()).resolves.toBe(1);
    expect(synced).toEqual([join(path, '..')]);
    expect(through).toBe(0);
    await sync.sync({ force: true });
    expect(synced).toHaveLength(1);
    sync.close();
    database.close();
  });

  it('fails closed when the directory cannot be synced', async () => {
    const { database, path } = walFile();
    const sync = new WalSync(
      `${path}-wal`,
      () => 1,
      async () => {
        throw new Error('EIO');
      },
    );
    database.prepare('insert into t values (1)').run();
    await expect(sync.sync()).rejects.toThrow(/EIO/);
    await expect(sync.sync()).rejects.toThrow(/EIO/);
    expect(sync.through).toBe(0);
    sync.close();
    database.close();
  });
});

describe('WalSync and a directory it cannot open', () => {
  it('fails that round only, and syncs the directory in a later one', async () => {
    const { database, path } = walFile();
    let attempts = 0;
    const sync = new WalSync(
      `${path}-wal`,
      () => 1,
      async () => {
        attempts++;
        if (attempts === 1) throw new DirectoryNotOpened(new Error('EMFILE: too many open files'));
      },
    );
    database.prepare('insert into t values (1)').run();
    await expect(sync.sync()).rejects.toThrow(/EMFILE/);
    expect(sync.failure).toBeUndefined();
    expect(sync.through).toBe(0);
    await expect(sync.sync()).resolves.toBe(1);
    expect(attempts).toBe(2);
    sync.close();
    database.close();
  });
});
