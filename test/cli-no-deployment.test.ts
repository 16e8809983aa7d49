/**
 * @module test/cli-no-deployment.test
 * A command run where there is no deployment (issue 12, F6): `agents list` printed nothing and
 * `audit verify` said "ok: 0 records, chain intact", and between them they created `.reins/audit.db`
 * and a checkpoint key. Someone in the wrong directory got a false "ok". A command that reads or acts
 * on an existing deployment refuses (exit 2), says where it looked and how to name one, and creates
 * nothing; the commands that start a deployment still create it. All through the built CLI.
 */
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDeployment, elsewhere, okIn, reinsIn } from './support/deployment-fixture.js';

const cleanup: string[] = [];
afterAll(() => {
  for (const directory of cleanup) rmSync(directory, { recursive: true, force: true });
});

function empty(): string {
  const directory = elsewhere();
  cleanup.push(directory);
  return directory;
}

/** Every command that needs a deployment to exist (the ones that start one are below). */
const ACTING_ON_A_DEPLOYMENT: string[][] = [
  ['agents', 'list'],
  ['agents', 'show', 'bot'],
  ['agents', 'token', 'bot'],
  ['agents', 'jwks'],
  ['agents', 'suspend', 'bot', '--reason', 'r'],
  ['agents', 'resume', 'bot', '--reason', 'r'],
  ['agents', 'retire', 'bot', '--reason', 'r'],
  ['approvals', 'list'],
  ['approvals', 'show', 'd-1'],
  ['approvals', 'approve', 'd-1', '--reason', 'r'],
  ['approvals', 'deny', 'd-1', '--reason', 'r'],
  ['sessions', 'list'],
  ['sessions', 'show', 's-1'],
  ['sessions', 'pause', 's-1', '--reason', 'r'],
  ['sessions', 'kill', 's-1', '--reason', 'r'],
  ['override', 'd-1', '--reason', 'r'],
  ['audit', 'query'],
  ['audit', 'verify'],
  ['audit', 'show-session', 's-1'],
  ['audit', 'export'],
  ['audit', 'public-key'],
  ['audit', 'checkpoint'],
  ['audit', 'prune', '--older-than', '90d'],
  ['users', 'list'],
  ['users', 'delete', 'ann@example.com'],
  ['users', 'rotate-token', 'ann@example.com'],
  ['keys', 'show'],
  ['keys', 'rotate', '--purpose', 'credentials'],
  ['tools', 'list'],
  ['tools', 'approve', 'memory/read_graph', '--by', 'olivia'],
];

function expectNoDeployment(run: { code: number | null; stderr: string }, where: string): void {
  expect(run.stderr).toMatch(/no deployment/);
  expect(run.stderr).toContain(where);
  expect(run.stderr).toContain('reins.yaml');
  expect(run.stderr).toContain('.reins/audit.db');
  expect(run.stderr).toContain('--config <reins.yaml>');
  expect(run.stderr).toContain('REINS_CONFIG');
  expect(run.code).toBe(2);
}

describe('outside a deployment', () => {
  it('each command that acts on one refuses, says where it looked, and creates nothing', () => {
    const here = empty();
    for (const args of ACTING_ON_A_DEPLOYMENT) {
      const run = reinsIn(here, { REINS_TOKEN: 'reins_u_not-a-real-token' }, ...args);
      expect({ command: args.join(' '), stdout: run.stdout }).toEqual({
        command: args.join(' '),
        stdout: '',
      });
      expectNoDeployment(run, here);
      expect({ command: args.join(' '), files: readdirSync(here) }).toEqual({
        command: args.join(' '),
        files: [],
      });
    }
  }, 300_000);

  it('the reported sequence no longer ends in a false "ok"', () => {
    const here = empty();
    for (const args of [
      ['agents', 'list'],
      ['audit', 'query'],
      ['audit', 'verify'],
    ]) {
      const run = reinsIn(here, {}, ...args);
      expect(run.stdout).not.toMatch(/ok|records/);
      expectNoDeployment(run, here);
    }
    expect(readdirSync(here)).toEqual([]);
  }, 120_000);

  it('users create with a token is not the first-admin bootstrap: it refuses too', () => {
    const here = empty();
    const run = reinsIn(
      here,
      { REINS_TOKEN: 'reins_u_not-a-real-token' },
      'users',
      'create',
      'ann',
      '--role',
      'admin',
    );
    expectNoDeployment(run, here);
    const tokenFile = join(empty(), 'token');
    writeFileSync(tokenFile, 'reins_u_not-a-real-token\n');
    const byFile = reinsIn(here, {}, 'users', 'create', 'ann', '--role', 'admin', '--token-file', tokenFile);
    expectNoDeployment(byFile, here);
    expect(readdirSync(here)).toEqual([]);
  }, 120_000);

  it('a store named by --db that does not exist is refused, not created', () => {
    const here = empty();
    const missing = join(here, 'typo.db');
    for (const args of [
      ['agents', 'list'],
      ['audit', 'verify'],
      ['approvals', 'list'],
      ['users', 'list'],
    ]) {
      const run = reinsIn(here, {}, ...args, '--db', missing);
      expect(run.stderr).toContain(missing);
      expect(run.stderr).toMatch(/does not exist/);
      expect(run.code).toBe(2);
    }
    expect(readdirSync(here)).toEqual([]);
  }, 120_000);

  it('a configured deployment whose store was never created is refused for reading, not created', () => {
    const deployment = createDeployment();
    cleanup.push(deployment.directory);
    const away = empty();
    for (const args of [
      ['agents', 'list'],
      ['audit', 'verify'],
      ['sessions', 'list'],
    ]) {
      const run = reinsIn(away, { REINS_CONFIG: deployment.config }, ...args);
      expect(run.stderr).toContain(deployment.db);
      expect(run.stderr).toContain(deployment.config);
      expect(run.code).toBe(2);
    }
    expect(existsSync(deployment.db)).toBe(false);
    expect(readdirSync(away)).toEqual([]);
  }, 120_000);
});

describe('the commands that start a deployment still create it', () => {
  it('agents create, then the reading commands find it', () => {
    const here = empty();
    okIn(here, {}, 'agents', 'create', 'bot', '--owner', 'olivia', '--scopes', 'memory/*');
    expect(existsSync(join(here, '.reins/audit.db'))).toBe(true);
    expect(okIn(here, {}, 'agents', 'list')).toMatch(/^bot +active +olivia/);
    expect(okIn(here, {}, 'audit', 'verify')).toMatch(/^ok: /);
  }, 120_000);

  it('users create (the first admin, no token), keys generate, then keys show and users list', () => {
    const here = empty();
    const admin = okIn(here, {}, 'users', 'create', 'root@example.com', '--role', 'admin').trim();
    expect(admin).not.toBe('');
    expect(okIn(here, {}, 'users', 'list')).toContain('root@example.com');
    const keysOnly = empty();
    okIn(keysOnly, {}, 'keys', 'generate');
    expect(okIn(keysOnly, {}, 'keys', 'show')).toContain('credentials: ');
  }, 120_000);
});
