/**
 * @module test/security/file-permissions.test
 * Issue 11, surface "file permissions of everything Reins writes": with the usual umask 022, a new
 * deployment created world-readable files (the SQLite store with its -wal/-shm files, which hold the
 * audit log and the identities; exports; tool pins) in a world-readable `.reins/`. Reins now creates its
 * directories 0700 and its files 0600, and a stricter umask still applies.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

/** Runs a command under `umask` in `cwd`, as a user would start Reins. */
function underUmask(umask: string, cwd: string, command: string[]): string {
  return execFileSync('sh', ['-c', `umask ${umask}; exec "$@"`, 'sh', ...command], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, REINS_DATABASE_URL: '' },
  });
}

const reins = (...args: string[]) => [process.execPath, join(ROOT, 'bin/reins.js'), ...args];
const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8);

/** Tool pins and the memory guard's label index, written by the modules the gateway uses. */
const WRITE_PINS_AND_LABELS = `
import { ToolPins } from ${JSON.stringify(join(ROOT, 'src/gateway/tool-pinning.ts'))};
import { SqliteMemoryLabelIndex } from ${JSON.stringify(join(ROOT, 'src/store/sqlite/sqlite-memory-labels.ts'))};
const pins = new ToolPins('.reins/reins.lock');
pins.check('up', { name: 'lookup', description: 'Looks up an order', inputSchema: { type: 'object' } });
pins.save();
const labels = new SqliteMemoryLabelIndex('.reins/labels/memory-labels.db');
await labels.close();
`;

describe('files and directories Reins creates', () => {
  it('are private to the user under umask 022: directories 0700, files 0600', () => {
    const home = mkdtempSync(join(tmpdir(), 'reins-perms-'));
    underUmask(
      '022',
      home,
      reins('agents', 'create', 'bot', '--owner', 'ops@example.com', '--db', '.reins/reins.db'),
    );
    underUmask('022', home, reins('audit', 'export', '--db', '.reins/reins.db', '--out', 'export.jsonl'));
    underUmask('022', home, [
      process.execPath,
      '--import',
      import.meta.resolve('tsx'),
      '--input-type=module',
      '-e',
      WRITE_PINS_AND_LABELS,
    ]);

    const reinsDir = join(home, '.reins');
    expect(modeOf(reinsDir)).toBe('700');
    expect(modeOf(join(reinsDir, 'labels'))).toBe('700');
    const files = [
      ...readdirSync(reinsDir).map((name) => join(reinsDir, name)),
      ...readdirSync(join(reinsDir, 'labels')).map((name) => join(reinsDir, 'labels', name)),
      join(home, 'export.jsonl'),
    ].filter((path) => statSync(path).isFile());
    expect(files.some((path) => path.endsWith('reins.db'))).toBe(true);
    expect(files.some((path) => path.endsWith('reins.lock'))).toBe(true);
    for (const path of files) expect(`${path}: ${modeOf(path)}`).toBe(`${path}: 600`);
  }, 60_000);

  it('respect a stricter umask', () => {
    const home = mkdtempSync(join(tmpdir(), 'reins-perms-strict-'));
    underUmask(
      '077',
      home,
      reins('agents', 'create', 'bot', '--owner', 'ops@example.com', '--db', '.reins/reins.db'),
    );
    expect(modeOf(join(home, '.reins'))).toBe('700');
    expect(modeOf(join(home, '.reins/reins.db'))).toBe('600');
    if (existsSync(join(home, '.reins/reins.db-wal')))
      expect(modeOf(join(home, '.reins/reins.db-wal'))).toBe('600');
  }, 60_000);
});
