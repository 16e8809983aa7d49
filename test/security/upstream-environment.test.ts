/**
 * @module test/security/upstream-environment.test
 * Issue 11, finding "upstreams inherit Reins' environment": a stdio upstream was spawned with every
 * variable of the gateway's environment, `REINS_DATABASE_URL` included, and could read the store (keys,
 * log) from there. An upstream (test/support/env-server.ts, which reports its environment through a
 * tool) run through the real gateway (`reins gateway`, reins.yaml) and through `reins mcp` sees only a
 * few harmless variables and what the operator passed on by name or value.
 *
 * The gateway's REINS_DATABASE_URL is set to the empty string here (a real URL would move the gateway
 * itself onto that database); the test checks that the variable does not reach the upstream at all.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AgentRegistry } from '../../src/auth/agent-registry.js';
import { Authenticator } from '../../src/auth/authenticator.js';
import { SqliteIdentityStore } from '../../src/store/sqlite/sqlite-identity-store.js';
import { connectHttp, type RunningGateway, startHttpGateway, textOf } from '../support/http-gateway.js';
import { connectThroughReins } from '../support/reins-mcp-client.js';
import { credentialKeysBeside } from '../support/test-keys.js';

const ROOT = resolve(import.meta.dirname, '../..');
const ENV_SERVER = join(ROOT, 'test/support/env-server.ts');
/** Set in the gateway's environment; none of them may reach an upstream unless passed on by name. */
const SECRETS = {
  REINS_DATABASE_URL: '',
  REINS_PROBE_SECRET: 'reins-probe-value',
  CLOUD_SECRET_ACCESS_KEY: 'cloud-probe-value',
  SHARED_SETTING: 'shared-probe-value',
};
const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: upstream-environment }
tools:
  - { server: probe, name: "*", risk: low, effects: [read] }
rules:
  - { id: probe, effect: allow, tool: { server: probe }, reason: reading the environment is the test }
`;

let directory: string;
const saved = new Map<string, string | undefined>();

beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), 'reins-upstream-env-'));
  writeFileSync(join(directory, 'policy.yaml'), POLICY);
});

afterEach(() => {
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  saved.clear();
});

function setGatewayEnvironment(values: Record<string, string>): void {
  for (const [name, value] of Object.entries(values)) {
    if (!saved.has(name)) saved.set(name, process.env[name]);
    process.env[name] = value;
  }
}

function expectNoSecrets(seen: Record<string, string>, passedOn: readonly string[] = []): void {
  for (const name of Object.keys(SECRETS)) {
    if (!passedOn.includes(name)) expect(seen, name).not.toHaveProperty(name);
  }
  expect(Object.keys(seen).filter((name) => name.startsWith('REINS_'))).toEqual([]);
  expect(seen).toHaveProperty('PATH');
}

/** Runs `reins gateway` with one stdio upstream (its `stdio` block given), returns what the upstream saw. */
async function environmentThroughGateway(stdioExtra: string, name: string): Promise<Record<string, string>> {
  const db = join(directory, `${name}.db`);
  const config = join(directory, `${name}.yaml`);
  writeFileSync(
    config,
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: ${name}.db }
lock: ${name}.lock
upstreams:
  - name: probe
    stdio: { command: ${JSON.stringify(process.execPath)}, args: ["--import", "tsx", ${JSON.stringify(ENV_SERVER)}], cwd: ${JSON.stringify(ROOT)}${stdioExtra} }
listen: { host: 127.0.0.1, port: 0, path: /mcp }
`,
  );
  const identity = new SqliteIdentityStore({ path: db });
  await new AgentRegistry(identity).create({ id: 'prober', owner: 'pat@example.com', scopes: ['probe/*'] });
  const auth = await Authenticator.open({ store: identity, keys: credentialKeysBeside(directory) });
  let gateway: RunningGateway | undefined;
  try {
    gateway = await startHttpGateway(config);
    const client = await connectHttp(gateway.endpoint, (await auth.issue('prober')).token);
    const seen = JSON.parse(textOf(await client.callTool({ name: 'probe__env', arguments: {} })));
    await client.close();
    return seen;
  } finally {
    if (gateway) expect(await gateway.stop()).toBe(0);
    auth.close();
    await identity.close();
  }
}

async function environmentThroughReinsMcp(name: string, options: string[] = []) {
  const db = join(directory, `${name}.db`);
  const created = spawnSync(
    process.execPath,
    [
      join(ROOT, 'bin/reins.js'),
      'agents',
      'create',
      'prober',
      '--owner',
      'pat@example.com',
      '--scopes',
      'probe/*',
      '--db',
      db,
    ],
    { encoding: 'utf8', env: { ...process.env, REINS_DATABASE_URL: '' } },
  );
  expect(created.status, created.stderr).toBe(0);
  const client = await connectThroughReins({
    agent: 'prober',
    policy: join(directory, 'policy.yaml'),
    db,
    lock: join(directory, `${name}.lock`),
    name: 'probe',
    upstream: ['--import', 'tsx', ENV_SERVER],
    clientName: 'upstream-env-test',
    env: SECRETS,
    reinsArgs: options,
  });
  try {
    return JSON.parse(textOf(await client.callTool({ name: 'probe__env', arguments: {} })));
  } finally {
    await client.close();
  }
}

describe('the environment of a stdio upstream', () => {
  it('through reins gateway: no variable of the gateway but a few harmless ones, plus explicit values', async () => {
    setGatewayEnvironment(SECRETS);
    const seen = await environmentThroughGateway(', env: { EXPLICIT_SETTING: "on" }', 'plain');
    expectNoSecrets(seen);
    expect(seen.EXPLICIT_SETTING).toBe('on');
  }, 60_000);

  it('through reins gateway: variables named in `inheritEnv` are passed on, REINS_* may not be named', async () => {
    setGatewayEnvironment(SECRETS);
    const seen = await environmentThroughGateway(', inheritEnv: [SHARED_SETTING]', 'allowlist');
    expectNoSecrets(seen, ['SHARED_SETTING']);
    expect(seen.SHARED_SETTING).toBe('shared-probe-value');
    await expect(environmentThroughGateway(', inheritEnv: [REINS_DATABASE_URL]', 'refused')).rejects.toThrow(
      /REINS_/,
    );
  }, 60_000);

  it('through reins mcp: nothing of its environment but a few harmless variables', async () => {
    expectNoSecrets(await environmentThroughReinsMcp('mcp-plain'));
  }, 60_000);

  it('through reins mcp: `--env NAME` passes a variable on, `--env NAME=value` sets one', async () => {
    const seen = await environmentThroughReinsMcp('mcp-env', [
      '--env',
      'SHARED_SETTING',
      '--env',
      'MODE=strict',
    ]);
    expectNoSecrets(seen, ['SHARED_SETTING']);
    expect(seen.SHARED_SETTING).toBe('shared-probe-value');
    expect(seen.MODE).toBe('strict');
  }, 60_000);
});
