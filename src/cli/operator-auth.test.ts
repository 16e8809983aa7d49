// Unit tests of operator authentication on the command line: where the token comes from and every way it is refused.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createUser, type UserRecordV1, type UserStore } from '../api/users.js';
import { ReinsError } from '../spec/errors.js';
import {
  authenticateOperator,
  exitCodeOf,
  OperatorRefused,
  readOperatorToken,
  rejectClaimedIdentity,
  requireOperatorRole,
} from './operator-auth.js';

/** An in-memory user store (a fake: the real ones are tested with their backends). */
function memoryUsers(): UserStore {
  const users = new Map<string, UserRecordV1>();
  return {
    create: async (user) => void users.set(user.id, user),
    get: async (id) => users.get(id),
    byTokenHash: async (hash) => [...users.values()].find((user) => user.tokenHash === hash),
    list: async () => [...users.values()],
    setTokenHash: async () => false,
    delete: async (id) => users.delete(id),
    close: async () => {},
  };
}

const directory = mkdtempSync(join(tmpdir(), 'reins-operator-auth-'));

function file(name: string, text: string, mode: number): string {
  const path = join(directory, name);
  writeFileSync(path, text, { mode });
  return path;
}

describe('operator authentication', () => {
  it('takes the token from --token-file first, then REINS_TOKEN', () => {
    const warnings: string[] = [];
    const path = file('own.token', ' reins_u_abc \n', 0o600);
    expect(readOperatorToken({ tokenFile: path }, warnings.push.bind(warnings), { REINS_TOKEN: 'x' })).toBe(
      'reins_u_abc',
    );
    expect(readOperatorToken({}, warnings.push.bind(warnings), { REINS_TOKEN: ' reins_u_env ' })).toBe(
      'reins_u_env',
    );
    expect(readOperatorToken({}, warnings.push.bind(warnings), { REINS_TOKEN: '' })).toBeUndefined();
    expect(warnings).toEqual([]);
  });

  it('warns about a token file others can read, and refuses a missing or empty one', () => {
    const warnings: string[] = [];
    readOperatorToken({ tokenFile: file('shared.token', 'reins_u_abc', 0o644) }, (line) =>
      warnings.push(line),
    );
    expect(warnings[0]).toContain('readable by other users');
    expect(() => readOperatorToken({ tokenFile: join(directory, 'none') }, () => {})).toThrow(
      /cannot read the token file/,
    );
    expect(() => readOperatorToken({ tokenFile: file('empty.token', '\n', 0o600) }, () => {})).toThrow(
      /is empty/,
    );
  });

  it('finds the user of a valid token and refuses every other token', async () => {
    const users = memoryUsers();
    const { token } = await createUser(users, { id: 'ann', roles: ['approver'], by: 'test' });
    const authenticate = (value: string) =>
      authenticateOperator({ tokenFile: file('t.token', value, 0o600) }, users, () => {});
    expect((await authenticate(token)).id).toBe('ann');
    await expect(authenticate('eyJhbGciOiJFZERTQSJ9.agent.credential')).rejects.toThrow(
      /not a user API token/,
    );
    await expect(authenticate('reins_u_guessed')).rejects.toThrow(/unknown or revoked/);
    await expect(authenticateOperator({}, users, () => {})).rejects.toThrow(/--token-file/);
  });

  it('refuses a claimed identity and a role too small', async () => {
    expect(() => rejectClaimedIdentity({ as: 'ann' })).toThrow(/`--as` is no longer accepted/);
    expect(() => rejectClaimedIdentity({ by: 'sec' })).toThrow(/`--by` is no longer accepted/);
    expect(() => rejectClaimedIdentity({})).not.toThrow();
    const users = memoryUsers();
    const { user } = await createUser(users, { id: 'vic', roles: ['viewer'], by: 'test' });
    expect(() => requireOperatorRole(user, 'admin', 'delete users')).toThrow(
      '`vic` needs the admin role to delete users',
    );
    expect(() => requireOperatorRole(user, 'viewer', 'read')).not.toThrow();
  });

  it('exits 1 for a refusal and 2 for anything else', () => {
    expect(exitCodeOf(new OperatorRefused('unauthenticated', 'x'))).toBe(1);
    expect(exitCodeOf(new ReinsError('forbidden', 'separation of duties'))).toBe(1);
    expect(exitCodeOf(new ReinsError('not_found', 'x'))).toBe(2);
    expect(exitCodeOf(new Error('disk'))).toBe(2);
  });
});
