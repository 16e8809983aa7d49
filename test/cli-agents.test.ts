/**
 * @module test/cli-agents.test
 * `reins agents` as a user runs it (built bin): register, issue a credential, suspend (kill switch, by
 * an admin user's token), and clear errors for bad input.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { createKeyDirectory } from '../src/keys/key-directory.js';

const ROOT = resolve(import.meta.dirname, '..');
// the deployment's credential key directory, outside the store (decision 0011)
const KEYS = join(mkdtempSync(join(tmpdir(), 'reins-cli-agents-keys-')), 'credentials');
createKeyDirectory(KEYS);

function reins(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(ROOT, 'bin/reins.js'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, REINS_DATABASE_URL: '', REINS_CREDENTIAL_KEYS: KEYS },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('reins agents', () => {
  it('registers an agent, issues a credential within its mission, and suspends it', () => {
    const db = join(mkdtempSync(join(tmpdir(), 'reins-cli-agents-')), 'reins.db');
    const created = reins(
      'agents',
      'create',
      'support-skill',
      '--owner',
      'dana@example.com',
      '--scopes',
      'crm/db.select',
      '--db',
      db,
    );
    expect(created.code).toBe(0);
    expect(created.stdout).toContain('support-skill (active)');
    expect(reins('agents', 'list', '--db', db).stdout).toMatch(
      /^support-skill +active +dana@example\.com +crm\/db\.select/,
    );

    const token = reins(
      'agents',
      'token',
      'support-skill',
      '--ttl',
      '120',
      '--session',
      'ticket-1',
      '--db',
      db,
    );
    expect(token.code).toBe(0);
    const claims = decodeJwt(token.stdout.trim());
    expect(claims).toMatchObject({ sub: 'support-skill', sid: 'ticket-1', scope: 'crm/db.select' });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(120);

    const wider = reins('agents', 'token', 'support-skill', '--scopes', 'crm/*', '--db', db);
    expect(wider.code).toBe(2);
    expect(wider.stderr).toContain('outside the mission');

    const jwks = JSON.parse(reins('agents', 'jwks', '--db', db).stdout) as { keys: { alg: string }[] };
    expect(jwks.keys[0]?.alg).toBe('EdDSA');

    // suspending is an admin's action: the first user (an admin) needs only access to the store
    const admin = reins('users', 'create', 'sec@example.com', '--role', 'admin', '--db', db).stdout.trim();
    const tokenFile = join(dirname(db), 'admin.token');
    writeFileSync(tokenFile, admin, { mode: 0o600 });
    const suspended = reins(
      'agents',
      'suspend',
      'support-skill',
      '--token-file',
      tokenFile,
      '--reason',
      'incident 12',
      '--db',
      db,
    );
    expect(suspended.stdout).toContain('is suspended; every credential it held is revoked');
    expect(reins('agents', 'token', 'support-skill', '--db', db).stderr).toContain('is suspended');
  }, 120_000);

  it('explains bad input', () => {
    const db = join(mkdtempSync(join(tmpdir(), 'reins-cli-agents-')), 'reins.db');
    expect(reins('agents', 'create', 'Bad_Id', '--owner', 'x', '--db', db).stderr).toContain(
      'agent ids are lowercase',
    );
    expect(reins('agents', 'show', 'ghost', '--db', db).stderr).toContain('unknown agent `ghost`');
    expect(
      reins('agents', 'create', 'x', '--owner', 'y', '--scopes', 'crm/*/x*', '--db', db).stderr,
    ).toContain('invalid scope');
  });

  it('delegates a task to another agent, only ever narrower, from a credential read from a file', () => {
    const directory = mkdtempSync(join(tmpdir(), 'reins-cli-delegate-'));
    const db = join(directory, 'reins.db');
    for (const [id, scopes] of [
      ['orchestrator', 'crm/*'],
      ['worker', 'crm/*,pay/*'],
    ] as const)
      expect(
        reins('agents', 'create', id, '--owner', 'dana@example.com', '--scopes', scopes, '--db', db).code,
      ).toBe(0);
    const parent = reins('agents', 'token', 'orchestrator', '--session', 'case-7', '--db', db);
    expect(parent.code).toBe(0);
    const parentFile = join(directory, 'orchestrator.token');
    writeFileSync(parentFile, parent.stdout, { mode: 0o600 });

    const delegated = reins(
      'agents',
      'delegate',
      'worker',
      '--from',
      parentFile,
      '--task',
      'look-up',
      '--scopes',
      'crm/db.select',
      '--db',
      db,
    );
    expect(delegated.stderr).toContain('delegated by orchestrator');
    expect(delegated.stderr).toContain('session case-7/look-up (delegated from case-7)');
    expect(delegated.code).toBe(0);
    const claims = decodeJwt(delegated.stdout.trim());
    expect(claims.sub).toBe('worker');
    expect(claims.scope).toBe('crm/db.select');
    expect(claims.act).toEqual({ sub: 'orchestrator' });
    expect(claims.sid).toBe('case-7/look-up');
    expect(claims.psn).toEqual(['case-7']);

    // the worker's own mission includes pay/*, the task it was handed does not
    const wider = reins(
      'agents',
      'delegate',
      'worker',
      '--from',
      parentFile,
      '--task',
      'pay',
      '--scopes',
      'pay/*',
      '--db',
      db,
    );
    expect(wider.code).toBe(2);
    expect(wider.stdout).toBe('');
    expect(wider.stderr).toMatch(/reins agents: .*pay\/\*/);

    const forgedFile = join(directory, 'forged.token');
    writeFileSync(forgedFile, 'eyJhbGciOiJFZERTQSJ9.e30.AAAA');
    const forged = reins('agents', 'delegate', 'worker', '--from', forgedFile, '--task', 't', '--db', db);
    expect(forged.code).toBe(2);
    expect(forged.stderr).toContain('the delegating credential is refused');
    const missing = reins(
      'agents',
      'delegate',
      'worker',
      '--from',
      join(directory, 'nope'),
      '--task',
      't',
      '--db',
      db,
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read the delegating credential');
  });
});
