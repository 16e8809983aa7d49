/**
 * @module test/security/stdio-checkpoint-publication.test
 * Issue 11, audit rewrite, through the other entry point: `reins mcp` (stdio) publishes its signed
 * checkpoints outside the database like `reins gateway` (`--publish-checkpoints <dir>`), so a tail cut
 * off its log, checkpoint rows and all, is caught by `reins audit verify --checkpoints` although the
 * database alone still verifies. Official SDK client, real server-everything, the built CLI.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { reins, runReinsAs } from '../support/reins-cli.js';
import { connectThroughReins } from '../support/reins-mcp-client.js';

const ROOT = resolve(import.meta.dirname, '../..');
const EVERYTHING = resolve(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
let directory: string;
let db: string;
let published: string;

/** `reins audit verify` of `path` against the published checkpoints, run where `reins mcp` ran. */
const verify = (path: string, ...extra: string[]) => runReinsAs('', path, ROOT, 'audit', 'verify', ...extra);

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-stdio-publish-'));
  db = join(directory, 'reins.db');
  published = join(directory, 'published');
  writeFileSync(
    join(directory, 'policy.yaml'),
    `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: stdio-publish }
tools:
  - { server: everything, name: echo, risk: low, effects: [read] }
rules:
  - { id: echo, effect: allow, tool: { server: everything, name: echo }, reason: harmless }
`,
  );
  reins(
    db,
    directory,
    'agents',
    'create',
    'publisher',
    '--owner',
    'pat@example.com',
    '--scopes',
    'everything/*',
  );
  const client = await connectThroughReins({
    agent: 'publisher',
    policy: join(directory, 'policy.yaml'),
    db,
    lock: join(directory, 'reins.lock'),
    name: 'everything',
    upstream: [EVERYTHING],
    clientName: 'stdio-publish-test',
    reinsArgs: ['--publish-checkpoints', published],
  });
  for (let call = 0; call < 3; call++)
    await client.callTool({ name: 'everything__echo', arguments: { message: `call ${call}` } });
  await client.close();
  // closing signs a last checkpoint over the head, then publishes it: wait until the copy covers the log
  await eventually(
    () => {
      const result = verify(db, '--checkpoints', published);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/published: .*checkpoints agree/);
      expect(result.stdout).not.toContain('covered by the database alone');
    },
    { timeoutMs: 20_000, intervalMs: 200, what: 'the published checkpoints covering the log' },
  );
}, 60_000);

afterAll(() => rmSync(directory, { recursive: true, force: true }));

it('publishes the checkpoints of reins mcp, and they agree with the untouched log', () => {
  const result = verify(db, '--checkpoints', published);
  expect(result.status, result.stderr).toBe(0);
  expect(result.stdout).toMatch(/published: \d+ checkpoints agree with the log, the last at record \d+/);
});

it('catches a tail cut off with its checkpoint rows against the published copy', () => {
  const copy = join(directory, 'cut.db');
  copyFileSync(db, copy);
  const database = new Database(copy);
  const { head } = database.prepare('select max(seq) as head from audit_events').get() as { head: number };
  database.exec(`delete from audit_events where seq > ${head - 2}; delete from audit_checkpoints;`);
  database.close();
  // the database alone cannot tell: fewer records than the cadence are left unsigned
  expect(verify(copy).status).toBe(0);
  const result = verify(copy, '--checkpoints', published);
  expect(result.status).toBe(1);
  expect(result.stderr).toContain('(truncated)');
});
