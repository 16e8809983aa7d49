/**
 * @module test/mcp-start-failure.test
 * `reins mcp` starts its upstream while its stores open (issue 20: start-up), after the policy is loaded
 * and the agent checked. A part that fails to start after that must stop the upstream again: the
 * command exits with the reason and leaves no upstream process behind.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { AgentRegistry } from '../src/auth/agent-registry.js';
import { SqliteIdentityStore } from '../src/store/sqlite/sqlite-identity-store.js';
import { eventually } from './support/eventually.js';

const ROOT = resolve(import.meta.dirname, '..');
const EVERYTHING = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-everything/dist/index.js',
);
const directory = mkdtempSync(join(tmpdir(), 'reins-mcp-start-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

it('stops the upstream it started when a later part cannot start (an unreadable lock file)', async () => {
  const db = join(directory, 'reins.db');
  const identity = new SqliteIdentityStore({ path: db });
  await new AgentRegistry(identity).create({ id: 'a', owner: 'test@example.com', scopes: ['local/*'] });
  identity.close();
  writeFileSync(
    join(directory, 'policy.yaml'),
    'apiVersion: reins.dev/v1\nkind: Policy\nmetadata: { name: t }\nrules:\n  - { id: all, effect: allow, reason: all }\n',
  );
  // the pins fail to load after the upstream has started
  writeFileSync(join(directory, 'reins.lock'), 'this is not a lock file: [');
  const pidFile = join(directory, 'upstream.pid');
  const wrapper = join(directory, 'upstream.mjs');
  writeFileSync(
    wrapper,
    `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(pidFile)}, String(process.pid));\nprocess.argv.splice(2, 0, 'stdio');\nawait import(${JSON.stringify(EVERYTHING)});\n`,
  );
  const run = spawnSync(
    process.execPath,
    [
      join(ROOT, 'bin/reins.js'),
      'mcp',
      '--agent',
      'a',
      '--policy',
      join(directory, 'policy.yaml'),
      '--db',
      db,
      '--lock',
      join(directory, 'reins.lock'),
      '--',
      process.execPath,
      wrapper,
    ],
    {
      cwd: directory,
      encoding: 'utf8',
      input: '',
      env: { ...process.env, REINS_DATABASE_URL: '' },
      timeout: 60_000,
    },
  );
  expect(run.status).toBe(2);
  expect(run.stderr).toMatch(/reins\.lock/);
  // the upstream did start (while the stores opened), and is gone again
  const pid = Number(readFileSync(pidFile, 'utf8'));
  expect(pid).toBeGreaterThan(0);
  await eventually(() => expect(alive(pid)).toBe(false));
}, 90_000);
