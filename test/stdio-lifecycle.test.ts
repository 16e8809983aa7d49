/**
 * @module test/stdio-lifecycle.test
 * Finding (issue 12): `reins mcp` outlived the desktop client that started it, and so did its upstream.
 * End to end, as a desktop app runs it: the official SDK client in its own process (support/desktop-
 * client) starts `reins mcp` over stdio, directly and through `npx`, in front of a real upstream, makes
 * a call and leaves one held for approval. Then the client is closed, or killed with SIGKILL; or its
 * child is gone while another process still holds Reins' stdin open (only the parent's death tells);
 * or Reins is sent SIGTERM, SIGINT or SIGHUP. Every process of Reins and of its upstream must be gone
 * (found by a mark in their environment, wherever they were reparented), and the held call must have
 * an outcome on record. And when Reins itself is killed with SIGKILL, each real upstream must end on its
 * own (its stdin closes).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import type { ClientPlan } from './support/desktop-client.js';
import { eventually, present, StopWaiting } from './support/eventually.js';
import { killMarked, MARK_VARIABLE, markedProcesses } from './support/marked-processes.js';
import { reins } from './support/reins-cli.js';

const ROOT = resolve(import.meta.dirname, '..');
const resolvePackage = createRequire(import.meta.url).resolve;
const UPSTREAMS = {
  memory: resolvePackage('@modelcontextprotocol/server-memory/dist/index.js'),
  fs: resolvePackage('@modelcontextprotocol/server-filesystem/dist/index.js'),
  everything: resolvePackage('@modelcontextprotocol/server-everything/dist/index.js'),
};
/** How long the processes may take to go: a bound on the wait, not a timing assertion. */
const GONE_WITHIN_MS = 10_000;
/** A held call whose caller went away ends without running, on record as abandoned. */
const HELD_OUTCOME = 'abandoned';

let directory: string;
let db: string;
/** A desktop app's project that depends on reins, where `npx reins` finds the package's bin. */
let app: string;
const marks: string[] = [];
/** The desktop clients (and pipe holders) a test started, ended after it whatever happened. */
const helpers: number[] = [];
let agents = 0;

beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), 'reins-stdio-lifecycle-'));
  db = join(directory, 'reins.db');
  mkdirSync(join(directory, 'work'));
  writeFileSync(
    join(directory, 'policy.yaml'),
    `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: stdio-lifecycle }
tools:
  - { server: memory, name: "*", risk: medium, effects: [read, write] }
  - { server: fs, name: "*", risk: low, effects: [read] }
  - { server: everything, name: "*", risk: low, effects: [read] }
rules:
  - { id: writes-held, effect: approve, tool: { server: memory, name: create_entities }, reason: a human reviews writes }
  - { id: memory, effect: allow, tool: { server: memory }, reason: team memory }
  - { id: files, effect: allow, tool: { server: fs }, reason: reading files }
  - { id: everything, effect: allow, tool: { server: everything }, reason: test server }
`,
  );
  app = join(directory, 'app');
  mkdirSync(join(app, 'node_modules/.bin'), { recursive: true });
  writeFileSync(join(app, 'package.json'), '{ "name": "desktop-app", "private": true }\n');
  symlinkSync(ROOT, join(app, 'node_modules/reins'));
  symlinkSync('../reins/bin/reins.js', join(app, 'node_modules/.bin/reins'));
});

afterEach(() => {
  // a failed test must not leave its orphans running on the machine
  for (const mark of marks.splice(0)) killMarked(mark);
  for (const pid of helpers.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

afterAll(() => {
  if (directory) rmSync(directory, { recursive: true, force: true });
});

/** A fresh agent (its records are this test's) and the mark of this test's processes. */
function freshRun(): { agent: string; mark: string } {
  agents += 1;
  const agent = `desk-${agents}`;
  reins(
    db,
    directory,
    'agents',
    'create',
    agent,
    '--owner',
    'desk@example.com',
    '--scopes',
    'memory/*,fs/*,everything/*',
  );
  const mark = randomUUID();
  marks.push(mark);
  return { agent, mark };
}

type Via = 'direct' | 'npx';
type UpstreamName = keyof typeof UPSTREAMS;

/** How a desktop app's configuration starts `reins mcp` in front of `upstream`. */
function reinsCommand(via: Via, agent: string, upstream: UpstreamName, mark: string) {
  const upstreamArgs = upstream === 'fs' ? [UPSTREAMS.fs, join(directory, 'work')] : [UPSTREAMS[upstream]];
  const mcp = [
    'mcp',
    ...['--agent', agent, '--policy', join(directory, 'policy.yaml'), '--db', db],
    ...['--lock', join(directory, 'reins.lock'), '--name', upstream],
    // the upstream gets the mark (so it can be found) and the memory server its file
    ...['--env', MARK_VARIABLE, '--env', 'MEMORY_FILE_PATH'],
    '--',
    process.execPath,
    ...upstreamArgs,
  ];
  const env = {
    // never a shared database from the developer's environment
    REINS_DATABASE_URL: '',
    MEMORY_FILE_PATH: join(directory, 'memory.jsonl'),
    [MARK_VARIABLE]: mark,
  };
  return via === 'direct'
    ? { command: process.execPath, args: [join(ROOT, 'bin/reins.js'), ...mcp], cwd: directory, env }
    : { command: 'npx', args: ['--no-install', 'reins', ...mcp], cwd: app, env };
}

interface RunningClient {
  readonly child: ChildProcess;
  /** The process the client started: reins, or npx in front of it. */
  readonly serverPid: number;
  readonly log: () => string;
  readonly next: (event: string) => Promise<Record<string, unknown>>;
}

/** Starts the desktop client in its own process; resolves once its first call has an answer. */
async function startDesktopClient(plan: ClientPlan): Promise<RunningClient> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'test/support/desktop-client.ts'), JSON.stringify(plan)],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  if (child.pid !== undefined) helpers.push(child.pid);
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });
  const events: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    events.push(JSON.parse(line));
  });
  const next = (event: string): Promise<Record<string, unknown>> =>
    eventually(
      () => {
        const found = events.find((candidate) => candidate.event === event);
        if (found === undefined && child.exitCode !== null)
          throw new StopWaiting(`the desktop client exited without saying \`${event}\`; its log:\n${log}`);
        return present(found, `not said yet; events so far: ${JSON.stringify(events)}`);
      },
      { timeoutMs: 60_000, what: () => `the desktop client saying \`${event}\` (its log:\n${log})` },
    );
  const ready = await next('ready');
  return { child, serverPid: Number(ready.pid), log: () => log, next };
}

function planFor(via: Via, agent: string, mark: string): ClientPlan {
  return {
    ...reinsCommand(via, agent, 'memory', mark),
    call: { name: 'memory__read_graph', arguments: {} },
    held: {
      name: 'memory__create_entities',
      arguments: { entities: [{ name: 'held', entityType: 'note', observations: ['waits'] }] },
    },
  };
}

/** Guards against a test that passes because it never found anything: reins and its upstream run. */
function expectRunning(mark: string, upstream: UpstreamName): void {
  const commands = markedProcesses(mark).map(({ command }) => command);
  expect(commands.some((command) => / mcp --agent /.test(command))).toBe(true);
  expect(
    commands.some((command) => command.includes(UPSTREAMS[upstream]) && !command.includes(' mcp ')),
  ).toBe(true);
}

/** Waits until the held call is a pending approval request, so it is surely waiting at shutdown. */
async function waitForHeldCall(agent: string): Promise<void> {
  await eventually(
    () => {
      const pending = JSON.parse(reins(db, directory, 'approvals', 'list', '--format', 'json'));
      expect(pending).toContainEqual(expect.objectContaining({ agentId: agent }));
    },
    { timeoutMs: 30_000, intervalMs: 200, what: `a held call of \`${agent}\`` },
  );
}

/** Passes once no process carries `mark`; past GONE_WITHIN_MS it fails with the survivors and the log. */
function allGone(mark: string, log: () => string): Promise<void> {
  return eventually(() => expect(markedProcesses(mark), log()).toEqual([]), {
    timeoutMs: GONE_WITHIN_MS,
    intervalMs: 100,
    what: 'every process of the run ending',
  });
}

/** The outcomes on record for `agent`'s held call. */
async function heldOutcomes(agent: string): Promise<string[]> {
  const audit = new SqliteAuditLog({ path: db, readOnly: true });
  try {
    const records = await audit.query({
      agentId: agent,
      kind: 'call-outcome',
      tool: 'memory/create_entities',
    });
    return records.map(({ event }) => (event.kind === 'call-outcome' ? event.outcome : event.kind));
  } finally {
    await audit.close();
  }
}

describe.each(['direct', 'npx'] as const)('a desktop client that starts `reins mcp` %s', (via) => {
  it('closing the client ends reins and its upstream, and the held call is recorded', async () => {
    const { agent, mark } = freshRun();
    const client = await startDesktopClient(planFor(via, agent, mark));
    await waitForHeldCall(agent);
    expectRunning(mark, 'memory');
    client.child.stdin?.write('close\n');
    await client.next('closed');
    await allGone(mark, client.log);
    expect(client.log()).toContain('reins mcp: stopping: standard input closed');
    expect(await heldOutcomes(agent), client.log()).toEqual([HELD_OUTCOME]);
  }, 120_000);

  it('killing the client with SIGKILL ends reins and its upstream, and the held call is recorded', async () => {
    const { agent, mark } = freshRun();
    const client = await startDesktopClient(planFor(via, agent, mark));
    await waitForHeldCall(agent);
    expectRunning(mark, 'memory');
    client.child.kill('SIGKILL');
    await allGone(mark, client.log);
    expect(client.log()).toMatch(/reins mcp: stopping: standard (input closed|output failed)/);
    expect(await heldOutcomes(agent), client.log()).toEqual([HELD_OUTCOME]);
  }, 120_000);
});

describe.each([
  ['direct', 'SIGKILL', 'the client killed with SIGKILL'],
  // the client's SIGTERM reaches npx, which passes it to the shell running reins: the shell dies
  ['npx', 'SIGTERM', 'npx sent SIGTERM by the client'],
] as const)('`reins mcp` started %s, while another process holds its stdin open', (via, signal, what) => {
  it(`ends with its upstream when its parent goes: ${what}`, async () => {
    const { agent, mark } = freshRun();
    const client = await startDesktopClient(planFor(via, agent, mark));
    await waitForHeldCall(agent);
    expectRunning(mark, 'memory');
    // as when the pipe leaked into a helper of the app: no end of input comes, only the parent goes
    client.child.stdin?.write('leak\n');
    helpers.push(Number((await client.next('leaked')).pid));
    if (via === 'direct') client.child.kill(signal);
    else process.kill(client.serverPid, signal);
    await allGone(mark, client.log);
    expect(client.log()).toMatch(/reins mcp: stopping: the process that started reins \(pid \d+\) is gone/);
    expect(await heldOutcomes(agent), client.log()).toEqual([HELD_OUTCOME]);
  }, 120_000);
});

describe.each(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)('`reins mcp` sent %s', (signal) => {
  it('ends the orderly way: the upstream is gone and the held call is recorded', async () => {
    const { agent, mark } = freshRun();
    const client = await startDesktopClient(planFor('direct', agent, mark));
    await waitForHeldCall(agent);
    expectRunning(mark, 'memory');
    process.kill(client.serverPid, signal);
    await allGone(mark, client.log);
    expect(client.log()).toContain(`reins mcp: stopping: received ${signal}`);
    expect(await heldOutcomes(agent), client.log()).toEqual([HELD_OUTCOME]);
  }, 120_000);
});

describe.each([
  ['memory', 'memory__read_graph', {}],
  ['fs', 'fs__list_allowed_directories', {}],
  ['everything', 'everything__echo', { message: 'hi' }],
  // its simulated logging is a timer that outlives the end of its input: the server ends at its next
  // write to the closed pipe (EPIPE, within 5 s), not when its stdin closes
  ['everything', 'everything__toggle-simulated-logging', {}],
] as const)('reins killed with SIGKILL in front of the real %s server (%s)', (upstream, tool, args) => {
  it('leaves no upstream behind: the upstream ends once its pipes to reins close', async () => {
    const { agent, mark } = freshRun();
    const { command, args: commandArgs, cwd, env } = reinsCommand('direct', agent, upstream, mark);
    const transport = new StdioClientTransport({ command, args: commandArgs, cwd, env, stderr: 'pipe' });
    let log = '';
    transport.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
    });
    const client = new Client({ name: 'killed-reins', version: '1.0.0' });
    await client.connect(transport);
    try {
      const result = await client.callTool({ name: tool, arguments: args });
      expect(result.isError, log).toBeFalsy();
      expectRunning(mark, upstream);
      process.kill(transport.pid ?? 0, 'SIGKILL');
      await allGone(mark, () => log);
    } finally {
      await client.close();
    }
  }, 120_000);
});
