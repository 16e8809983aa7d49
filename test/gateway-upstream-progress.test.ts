/**
 * @module test/gateway-upstream-progress.test
 * Finding (issue 12): the upstream's progress never reached the client. A client that asked for
 * progress heard Reins's own "waiting for human approval", then nothing while the tool ran, so a
 * client waiting on progress (the SDK's `resetTimeoutOnProgress`, as the README advises) still timed
 * out, and cancelled, a tool that ran longer than its timeout. Now the gateway passes the upstream's
 * progress for that call on under the client's token: screened like any upstream text (a secret
 * redacted, a message holding blocked data dropped), increasing (after a hold too), and nothing of
 * the upstream's beyond progress, total and message. Reins's own `--call-timeout` stays a bound on
 * the whole call, progress or not. End to end: the official SDK client through `reins mcp` in front
 * of server-everything (a held `trigger-long-running-operation`, approved from another process) and
 * a scripted careless upstream (test/support/progress-server.ts); and through `reins gateway` over
 * Streamable HTTP, where the progress travels on the call's response stream.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult, Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Authenticator } from '../src/auth/authenticator.js';
import { SqliteIdentityStore } from '../src/store/sqlite/sqlite-identity-store.js';
import { eventually } from './support/eventually.js';
import { connectWithCredential, type RunningGateway, startHttpGateway } from './support/http-gateway.js';
import { LEAKS } from './support/leaky-secrets.js';
import { createOperators, reins, reinsAs, waitForPendingApproval } from './support/reins-cli.js';
import { connectThroughReins } from './support/reins-mcp-client.js';
import { credentialKeysBeside } from './support/test-keys.js';
import { textOf as text } from './support/tool-result-text.js';

const ROOT = resolve(import.meta.dirname, '..');
const EVERYTHING = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-everything/dist/index.js',
);
const PROGRESS_SERVER = join(ROOT, 'test/support/progress-server.ts');
const WAITING = 'waiting for human approval';

const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: upstream-progress }
tools:
  - { server: everything, name: "*", risk: low, effects: [read] }
  - { server: progress, name: "*", risk: low, effects: [read] }
rules:
  - id: long-runs-need-a-human
    effect: approve
    tool: { server: everything, name: trigger-long-running-operation }
    reason: long runs are reviewed
  - { id: the-rest, effect: allow, tool: { server: progress }, reason: this test is about progress }
redaction:
  outputs: { secret: redact, iban: block }
`;

let directory: string;
let db: string;
let approver: string;
const clients: Client[] = [];

beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), 'reins-upstream-progress-'));
  db = join(directory, 'reins.db');
  writeFileSync(join(directory, 'policy.yaml'), POLICY);
  approver = createOperators(db, directory).approver;
  reins(
    db,
    directory,
    'agents',
    'create',
    'runner',
    '--owner',
    'ana@example.com',
    '--scopes',
    'everything/*',
  );
  reins(db, directory, 'agents', 'create', 'worker', '--owner', 'ana@example.com', '--scopes', 'progress/*');
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  if (directory) rmSync(directory, { recursive: true, force: true });
});

async function through(
  agent: string,
  name: string,
  upstream: string[],
  reinsArgs: string[] = [],
): Promise<Client> {
  const client = await connectThroughReins({
    agent,
    policy: join(directory, 'policy.yaml'),
    db,
    lock: join(directory, `${name}.lock`),
    name,
    upstream,
    clientName: 'upstream-progress-test',
    reinsArgs,
  });
  clients.push(client);
  return client;
}

/** The progress values, in the order the client heard them. */
function values(progress: readonly Progress[]): number[] {
  return progress.map((update) => update.progress);
}

function strictlyIncreasing(numbers: readonly number[]): boolean {
  return numbers.every((value, index) => index === 0 || value > (numbers[index - 1] as number));
}

/** Calls `work` of test/support/progress-server.ts and checks what of its progress reached the client. */
async function expectScreenedProgress(client: Client): Promise<void> {
  const progress: Progress[] = [];
  const result = (await client.callTool({ name: 'progress__work', arguments: {} }, undefined, {
    onprogress: (update) => progress.push(update),
  })) as CallToolResult;
  expect(text(result)).toBe('worked, progress token present');
  const expected = [
    { progress: 1, total: 4, message: 'connecting with [REDACTED:aws_access_key]' },
    { progress: 2, total: 4 },
    // "rewound" (1 after 2) is not passed on: progress must increase
    { progress: 3, total: 4, message: 'step 3' },
    { progress: 4, total: 4, message: 'step 4' },
  ];
  // The SDK client runs progress handlers a microtask after reading them but settles the response at
  // once: a last update read together with the result is dropped (by Reins's client of the upstream,
  // or by this one). So what arrives is the expected sequence, possibly without its last step.
  expect(progress.length).toBeGreaterThanOrEqual(3);
  expect(progress).toEqual(expected.slice(0, progress.length));
  expect(JSON.stringify(progress)).not.toContain(LEAKS.awsKey);
  expect(JSON.stringify(progress)).not.toContain(LEAKS.iban);
}

describe('upstream progress through `reins mcp`', () => {
  it('passes on the progress of a held call once it is approved, after the waiting, still increasing', async () => {
    const client = await through('runner', 'everything', [EVERYTHING, 'stdio']);
    const progress: Progress[] = [];
    const pending = client.callTool(
      { name: 'everything__trigger-long-running-operation', arguments: { duration: 1, steps: 4 } },
      undefined,
      { onprogress: (update) => progress.push(update), resetTimeoutOnProgress: true, timeout: 30_000 },
    );
    const request = await waitForPendingApproval(db, directory);
    // two waiting notes (the second one 5 s on): the upstream's 1 of 4 comes after a larger value
    await eventually(() => expect(progress.length).toBeGreaterThanOrEqual(2), {
      timeoutMs: 15_000,
      what: 'two waiting notes',
    });
    reinsAs(approver, db, directory, 'approvals', 'approve', request.id, '--reason', 'ok');
    const result = (await pending) as CallToolResult;
    expect(text(result)).toContain('Long running operation completed');

    const fromUpstream = progress.filter((update) => !update.message?.includes(WAITING));
    expect(progress.slice(0, 2).every((update) => update.message?.includes(WAITING))).toBe(true);
    // four steps; the last may be dropped by an SDK client when it arrives with the result (see above)
    expect(fromUpstream.length).toBeGreaterThanOrEqual(3);
    expect(fromUpstream.length).toBeLessThanOrEqual(4);
    expect(strictlyIncreasing(values(progress))).toBe(true);
    // the upstream's count is rebased after the waiting, its total with it: the steps end at the total
    const first = fromUpstream[0];
    expect(first?.total).toBe((first?.progress as number) + 3);
    expect(fromUpstream.every((update) => update.total === first?.total)).toBe(true);
  }, 60_000);

  it('screens the upstream progress messages: a secret redacted, blocked data and anything else dropped', async () => {
    await expectScreenedProgress(await through('worker', 'progress', ['--import', 'tsx', PROGRESS_SERVER]));
  }, 60_000);

  it('asks the upstream for no progress when the client did not', async () => {
    const client = await through('worker', 'progress', ['--import', 'tsx', PROGRESS_SERVER]);
    const result = (await client.callTool({ name: 'progress__work', arguments: {} })) as CallToolResult;
    expect(text(result)).toBe('worked, progress token absent');
  }, 60_000);

  it("keeps Reins's call timeout a bound on the whole call, however much progress the upstream sends", async () => {
    const client = await through(
      'worker',
      'progress',
      ['--import', 'tsx', PROGRESS_SERVER],
      ['--call-timeout', '1s'],
    );
    const progress: Progress[] = [];
    const result = (await client.callTool({ name: 'progress__slow', arguments: { seconds: 4 } }, undefined, {
      onprogress: (update) => progress.push(update),
      resetTimeoutOnProgress: true,
      timeout: 30_000,
    })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/timed out/i);
    expect(progress.length).toBeGreaterThan(0);
  }, 60_000);
});

describe('upstream progress through `reins gateway` (Streamable HTTP)', () => {
  let gateway: RunningGateway | undefined;

  beforeAll(async () => {
    writeFileSync(
      join(directory, 'reins.yaml'),
      `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: reins.db }
upstreams:
  - name: progress
    stdio:
      command: ${JSON.stringify(process.execPath)}
      args: [--import, tsx, ${JSON.stringify(PROGRESS_SERVER)}]
      cwd: ${JSON.stringify(ROOT)}
listen: { host: 127.0.0.1, port: 0, path: /mcp }
`,
    );
    gateway = await startHttpGateway(join(directory, 'reins.yaml'));
  }, 60_000);

  afterAll(async () => {
    expect(await gateway?.stop()).toBe(0);
  });

  it("passes on the upstream progress on the call's response stream, screened", async () => {
    const store = new SqliteIdentityStore({ path: db });
    const auth = await Authenticator.open({ store, keys: credentialKeysBeside(directory) });
    const token = (await auth.issue('worker')).token;
    auth.close();
    await store.close();
    const { client } = await connectWithCredential((gateway as RunningGateway).endpoint, token);
    clients.push(client);
    await expectScreenedProgress(client);
  }, 60_000);
});
