/**
 * @module test/cli-state-files.test
 * Reins writes files only where a user asked (issue 12): the tool definition lock is kept where the
 * configuration says (relative to reins.yaml), or beside the store, never in the working directory by
 * surprise; the example gateway keeps its lock with the rest of its state, not in examples/; and
 * `reins demo` writes its own log, not the deployment's `.reins/audit.db` that the console shows.
 * `reins mcp` runs for real (official SDK client, the memory server from npm).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, describe, expect, it } from 'vitest';
import { createKeyDirectory } from '../src/keys/key-directory.js';
import { loadGatewayConfig } from '../src/loader/gateway-config-file.js';
import {
  createDeployment,
  elsewhere,
  MEMORY_POLICY,
  MEMORY_SERVER,
  okIn,
  REINS_BIN,
  reinsIn,
} from './support/deployment-fixture.js';

const ROOT = resolve(import.meta.dirname, '..');
const cleanup: string[] = [];
afterAll(() => {
  for (const directory of cleanup) rmSync(directory, { recursive: true, force: true });
});

function temporary(prefix: string): string {
  const directory = mkdtempSync(join(tmpdir(), prefix));
  cleanup.push(directory);
  return directory;
}

/** A checkpoint key directory of its own, named by REINS_CHECKPOINT_KEYS (not the working directory's default). */
function checkpointKeys(): { REINS_CHECKPOINT_KEYS: string } {
  const directory = join(temporary('reins-keys-'), 'checkpoints');
  createKeyDirectory(directory);
  return { REINS_CHECKPOINT_KEYS: directory };
}

/** Runs `reins mcp <args>` in `cwd` with an SDK client, lists the tools and closes. */
async function listToolsThroughMcp(
  cwd: string,
  env: Record<string, string>,
  args: string[],
): Promise<number> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^REINS_/.test(name)));
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [REINS_BIN, 'mcp', '--agent', 'bot', ...args, '--', process.execPath, MEMORY_SERVER],
    cwd,
    env: { ...(clean as Record<string, string>), ...env },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'state-files-test', version: '1.0.0' });
  await client.connect(transport);
  try {
    return (await client.listTools()).tools.length;
  } finally {
    await client.close();
  }
}

describe('the tool definition lock', () => {
  it('reins mcp without a configuration keeps it beside its store, not in the working directory', async () => {
    const state = temporary('reins-state-');
    const away = temporary('reins-away-');
    const db = join(state, 'audit.db');
    const env = checkpointKeys();
    okIn(away, env, 'agents', 'create', 'bot', '--owner', 'olivia', '--scopes', 'memory/*', '--db', db);
    const policy = join(state, 'policy.yaml');
    writeFileSync(policy, MEMORY_POLICY);
    expect(
      await listToolsThroughMcp(away, env, ['--name', 'memory', '--policy', policy, '--db', db]),
    ).toBeGreaterThan(0);
    expect(readdirSync(away)).toEqual([]);
    expect(existsSync(join(state, 'reins.lock'))).toBe(true);
  });

  it('reins mcp with a configuration (REINS_CONFIG) uses its store, keys, lock and checkpoint publication', async () => {
    const deployment = createDeployment({
      extra: 'audit: { checkpoints: { every: 2, publish: { directory: published } } }\n',
    });
    cleanup.push(deployment.directory);
    const away = temporary('reins-away-');
    const env = { REINS_CONFIG: deployment.config };
    okIn(away, env, 'agents', 'create', 'bot', '--owner', 'olivia', '--scopes', 'memory/*');
    expect(await listToolsThroughMcp(away, env, ['--name', 'memory'])).toBeGreaterThan(0);
    expect(readdirSync(away)).toEqual([]);
    expect(existsSync(deployment.lock)).toBe(true);
    expect(existsSync(deployment.checkpointKeys)).toBe(true);
    const published = join(deployment.directory, 'published');
    expect(readFileSync(join(published, 'checkpoints.jsonl'), 'utf8')).not.toBe('');
    expect(okIn(away, env, 'audit', 'verify', '--checkpoints', published)).toContain(`ok: ${deployment.db}`);
  });

  it('the example gateway keeps its lock with its other state, outside examples/', () => {
    const loaded = loadGatewayConfig(join(ROOT, 'examples/gateway/reins.yaml'));
    if (!loaded.ok) throw new Error('the example configuration does not load');
    expect(relative(join(ROOT, 'examples'), loaded.config.lock)).toMatch(/^\.\./);
    expect(resolve(loaded.config.lock, '..')).toBe(resolve(loaded.config.store.sqlite, '..'));
  });
});

describe('reins demo', () => {
  it("writes its own log, not the deployment's .reins/audit.db, and says so", () => {
    const away = elsewhere();
    cleanup.push(away);
    const env = checkpointKeys();
    const run = reinsIn(away, env, 'demo');
    expect(run.code).toBe(0);
    expect(existsSync(join(away, '.reins/demo.db'))).toBe(true);
    expect(existsSync(join(away, '.reins/audit.db'))).toBe(false);
    expect(run.stdout).toContain('.reins/demo.db');
    expect(run.stdout).toMatch(/not the deployment's/);
  }, 60_000);
});
