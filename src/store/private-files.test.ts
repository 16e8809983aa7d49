/**
 * @module store/private-files.test
 * A store Reins creates is private (0700 directories, a 0600 file) and its names are synced into their
 * parents once, when they are created: a power loss right after cannot take a new store away. The
 * syncs are watched through the injected function; the files and directories are real.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fsyncDirectorySync } from './directory-sync.js';
import { ensurePrivateDirectory, ensurePrivateFile } from './private-files.js';

let root: string;
let synced: string[];
const record = (path: string) => {
  synced.push(path);
  fsyncDirectorySync(path);
};

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'reins-private-files-'));
  synced = [];
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('ensurePrivateFile', () => {
  it('creates the file and its missing directories private, each name synced into its parent', () => {
    const file = join(root, 'a', 'b', 'reins.db');
    ensurePrivateFile(file, record);
    expect(statSync(join(root, 'a')).mode & 0o777).toBe(0o700);
    expect(statSync(join(root, 'a', 'b')).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // a and b (their parents root and a), then the file (its directory b)
    expect(new Set(synced)).toEqual(new Set([root, join(root, 'a'), join(root, 'a', 'b')]));
    expect(synced.at(-1)).toBe(join(root, 'a', 'b'));
  });

  it('syncs nothing for a store that exists, and leaves its mode alone', () => {
    mkdirSync(join(root, 'store'), { mode: 0o755 });
    writeFileSync(join(root, 'store', 'reins.db'), '', { mode: 0o644 });
    ensurePrivateFile(join(root, 'store', 'reins.db'), record);
    expect(synced).toEqual([]);
    expect(statSync(join(root, 'store', 'reins.db')).mode & 0o777).toBe(0o644);
  });

  it('syncs only the new file when its directory exists', () => {
    ensurePrivateFile(join(root, 'reins.db'), record);
    expect(synced).toEqual([root]);
  });

  it('leaves a file behind a symbolic link as it is (SQLite opens the link)', () => {
    writeFileSync(join(root, 'target.db'), '');
    symlinkSync(join(root, 'target.db'), join(root, 'link.db'));
    ensurePrivateFile(join(root, 'link.db'), record);
    expect(synced).toEqual([]);
  });

  it('a directory that cannot be synced fails the creation (the store would not last)', () => {
    const failing = () => {
      throw new Error('EIO: fsync failed');
    };
    expect(() => ensurePrivateFile(join(root, 'new', 'reins.db'), failing)).toThrow(/EIO/);
  });

  it('is nothing for an in-memory database', () => {
    ensurePrivateFile(':memory:', record);
    expect(synced).toEqual([]);
  });
});

describe('ensurePrivateDirectory', () => {
  it('syncs only what it created: the parents of the new directories below an existing one', () => {
    mkdirSync(join(root, 'kept'));
    ensurePrivateDirectory(join(root, 'kept', 'x', 'y'), record);
    expect(new Set(synced)).toEqual(new Set([join(root, 'kept'), join(root, 'kept', 'x')]));
    synced = [];
    ensurePrivateDirectory(join(root, 'kept', 'x', 'y'), record);
    expect(synced).toEqual([]);
  });
});
