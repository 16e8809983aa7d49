/**
 * @module test/checkpoint-key-home.test
 * Issue 14, "one deployment, one identity for its audit log", on the embedded store: without a
 * reins.yaml, the default key directories belong to the SQLite store a command names, not to the
 * directory it runs in. Two writers of one store file started from two directories (as MCP clients
 * start `reins mcp` wherever they like) sign with one key, and `reins audit verify` run from a third
 * directory with the public key calls the log intact. The built CLI, as an operator runs it.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { okIn, reinsIn } from './support/deployment-fixture.js';

const made: string[] = [];
function directory(prefix: string): string {
  const path = mkdtempSync(join(tmpdir(), prefix));
  made.push(path);
  return path;
}

afterAll(() => {
  for (const path of made) rmSync(path, { recursive: true, force: true });
});

describe('the default key directories follow the SQLite store, not the working directory', () => {
  it('writers started from two directories sign one store with one key, verified from a third', () => {
    const state = directory('reins-state-');
    const db = join(state, 'audit.db');
    const [first, second, auditor] = [directory('reins-a-'), directory('reins-b-'), directory('reins-c-')];
    // the first admin, from one directory: the store and its checkpoint key are created
    const root = okIn(first, {}, 'users', 'create', 'root', '--role', 'admin', '--db', db).trim();
    // another user, from another directory: another writer of the same log
    okIn(second, { REINS_TOKEN: root }, 'users', 'create', 'ann', '--role', 'approver', '--db', db);
    expect(existsSync(join(state, '.reins-keys', 'checkpoints', 'signing-key.pem'))).toBe(true);
    for (const where of [first, second]) expect(readdirSync(where)).toEqual([]);

    const publicKey = join(auditor, 'checkpoint-public.pem');
    writeFileSync(publicKey, okIn(auditor, {}, 'audit', 'public-key', '--db', db));
    const verified = reinsIn(auditor, {}, 'audit', 'verify', '--db', db, '--public-key', publicKey);
    expect(verified.stderr).not.toContain('TAMPERED');
    expect(verified.stdout).toMatch(/^ok: .* 2 checkpoints \(signatures checked\)/);
    expect(verified.code).toBe(0);
  }, 60_000);

  it('the default store `.reins/audit.db` keeps its keys in `.reins-keys/` beside `.reins/`', () => {
    const home = directory('reins-home-');
    const root = okIn(home, {}, 'users', 'create', 'root', '--role', 'admin').trim();
    expect(root).not.toBe('');
    expect(readdirSync(home).sort()).toEqual(['.reins', '.reins-keys']);
    // named from elsewhere, the same store finds the same keys
    const away = directory('reins-away-');
    const verified = reinsIn(away, {}, 'audit', 'verify', '--db', join(home, '.reins', 'audit.db'));
    expect(verified.stdout).toMatch(/^ok: .* 1 checkpoints \(signatures checked\)/);
    expect(verified.code).toBe(0);
    expect(readdirSync(away)).toEqual([]);
  }, 60_000);
});
