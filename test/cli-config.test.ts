/**
 * @module test/cli-config.test
 * Every command that acts on a deployment finds it the same way (issue 12): `--config <reins.yaml>`,
 * else `REINS_CONFIG`, else `./reins.yaml`, else the defaults of the working directory. Run from
 * another directory, a command acts on the store, key directories and lock the configuration names,
 * and writes nothing where it runs. A configuration that is named but missing is an error, never a
 * fallback. All through the built CLI, as an operator runs it.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeployment, type Deployment, elsewhere, okIn, reinsIn } from './support/deployment-fixture.js';

let deployment: Deployment;
let away: string;
let env: Record<string, string>;
let admin: string;

beforeAll(() => {
  deployment = createDeployment();
  away = elsewhere();
  env = { REINS_CONFIG: deployment.config };
  okIn(away, env, 'keys', 'generate');
  okIn(
    away,
    {},
    'agents',
    'create',
    'bot',
    '--owner',
    'olivia',
    '--scopes',
    'memory/*',
    '--config',
    deployment.config,
  );
  admin = okIn(away, env, 'users', 'create', 'root@example.com', '--role', 'admin').trim();
}, 120_000);

afterAll(() => {
  rmSync(deployment.directory, { recursive: true, force: true });
  rmSync(away, { recursive: true, force: true });
});

describe('one deployment, found from anywhere', () => {
  it('creates the keys and the store where reins.yaml says, and nothing where the command runs', () => {
    expect(existsSync(join(deployment.credentialKeys, 'signing-key.pem'))).toBe(true);
    expect(existsSync(join(deployment.checkpointKeys, 'signing-key.pem'))).toBe(true);
    expect(existsSync(deployment.db)).toBe(true);
    expect(readdirSync(away)).toEqual([]);
  }, 120_000);

  it('agents: the same registry by --config, REINS_CONFIG and ./reins.yaml', () => {
    const byFlag = okIn(away, {}, 'agents', 'list', '--config', deployment.config);
    const byEnv = okIn(away, env, 'agents', 'list');
    const byDirectory = okIn(deployment.directory, {}, 'agents', 'list');
    for (const listing of [byFlag, byEnv, byDirectory]) expect(listing).toMatch(/^bot +active +olivia/);
    const token = reinsIn(away, env, 'agents', 'token', 'bot', '--ttl', '60');
    expect(token.stderr).toContain('token ');
    expect(token.code).toBe(0);
    expect(readdirSync(away)).toEqual([]);
  }, 120_000);

  it('audit, approvals, sessions, users, keys and tools act on the configured deployment', () => {
    const actions = okIn(away, env, 'audit', 'query', '--kind', 'operator-action', '--format', 'json');
    expect(actions).toContain('user.create');
    const verified = reinsIn(away, env, 'audit', 'verify');
    expect(verified.stdout).toContain(`ok: ${deployment.db}`);
    expect(verified.code).toBe(0);
    expect(okIn(away, env, 'approvals', 'list')).toContain('no pending approval requests');
    expect(okIn(away, env, 'sessions', 'list')).toContain('no sessions');
    expect(okIn(away, env, 'users', 'list')).toContain('root@example.com');
    expect(okIn(away, env, 'keys', 'show', '--purpose', 'credentials')).toContain(deployment.credentialKeys);
    okIn(away, { ...env, REINS_TOKEN: admin }, 'agents', 'suspend', 'bot', '--reason', 'testing');
    expect(okIn(away, env, 'agents', 'show', 'bot')).toContain('bot (suspended)');
    okIn(away, { ...env, REINS_TOKEN: admin }, 'agents', 'resume', 'bot', '--reason', 'done testing');
    expect(readdirSync(away)).toEqual([]);
  }, 120_000);

  it('tools: reads the lock reins.yaml names', () => {
    const empty = reinsIn(away, env, 'tools', 'list');
    expect(empty.stdout).toContain(`no tool definitions pinned in ${deployment.lock}`);
    expect(empty.code).toBe(0);
    mkdirSync(dirname(deployment.lock));
    writeFileSync(deployment.lock, '{oops');
    const broken = reinsIn(away, env, 'tools', 'list');
    expect(broken.stderr).toContain(deployment.lock);
    expect(broken.code).toBe(2);
    rmSync(dirname(deployment.lock), { recursive: true });
  }, 120_000);

  it('policy check and decide use the configured policy when none is given', () => {
    const checked = reinsIn(away, env, 'policy', 'check');
    expect(checked.stdout).toContain(deployment.policy);
    expect(checked.code).toBe(0);
    const call = '{"principal":{"agentId":"bot"},"tool":{"server":"memory","name":"read_graph"},"args":{}}';
    expect(JSON.parse(okIn(away, env, 'decide', '--call', call)).effect).toBe('allow');
  }, 120_000);
});

describe('precedence and errors', () => {
  it('--config wins over REINS_CONFIG, which wins over ./reins.yaml', () => {
    const other = createDeployment();
    try {
      okIn(other.directory, {}, 'agents', 'create', 'other-bot', '--owner', 'otto');
      // in the other deployment's directory, REINS_CONFIG still names this one
      expect(okIn(other.directory, env, 'agents', 'list')).toMatch(/^bot /);
      expect(okIn(other.directory, {}, 'agents', 'list')).toMatch(/^other-bot /);
      expect(
        okIn(away, { REINS_CONFIG: other.config }, 'agents', 'list', '--config', deployment.config),
      ).toMatch(/^bot /);
    } finally {
      rmSync(other.directory, { recursive: true, force: true });
    }
  }, 120_000);

  it('--db overrides the store of the configuration', () => {
    const db = join(elsewhere(), 'other.db');
    okIn(away, env, 'agents', 'create', 'db-bot', '--owner', 'dora', '--db', db);
    expect(existsSync(db)).toBe(true);
    const listing = okIn(away, env, 'agents', 'list', '--db', db);
    expect(listing).toMatch(/^db-bot +active +dora/);
    expect(listing).not.toMatch(/^bot /m);
  }, 120_000);

  it('a configuration that is named but missing is an error, not a fallback to the defaults', () => {
    const missing = join(away, 'nope', 'reins.yaml');
    for (const run of [
      reinsIn(away, {}, 'agents', 'list', '--config', missing),
      reinsIn(away, { REINS_CONFIG: missing }, 'agents', 'list'),
      reinsIn(away, { REINS_CONFIG: missing }, 'audit', 'query'),
      reinsIn(away, { REINS_CONFIG: missing }, 'sessions', 'list'),
      reinsIn(away, { REINS_CONFIG: missing }, 'gateway'),
    ]) {
      expect(run.stderr).toContain(missing);
      expect(run.stderr).toMatch(/does not exist/);
      expect(run.code).toBe(2);
    }
    expect(readdirSync(away)).toEqual([]);
  }, 120_000);

  it('gateway and serve without any configuration say how to give one', () => {
    for (const command of ['gateway', 'serve']) {
      const run = reinsIn(away, {}, command);
      expect(run.stderr).toMatch(/--config/);
      expect(run.stderr).toMatch(/REINS_CONFIG/);
      expect(run.code).toBe(2);
    }
  }, 120_000);
});
