/**
 * @module test/provenance-gateway.test
 * The user's request declared by an MCP client, end to end through the real gateway (issue 18): the
 * official SDK client sets `_meta["reins.dev/user-request"]` (one call) or
 * `_meta["reins.dev/session-request"]` (the session) on `tools/call`, in front of the built `reins mcp`
 * (stdio) and the built `reins gateway` (Streamable HTTP), with the memory server from npm holding a
 * record. The audit log then chains the note the agent sends back to the read whose field held the
 * address, and the read's argument back to the user's request; with nothing declared the chain ends at
 * the model; a malformed declaration refuses the call, naming the key; the keys never reach an upstream;
 * and a subagent's send, on a credential delegated from the orchestrator, links across the hop.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { type CallToolResult, ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CallIntentEvent } from '../src/spec/audit-event.js';
import { type ArgumentSource, SESSION_REQUEST_META, USER_REQUEST_META } from '../src/spec/provenance.js';
import { MAX_USER_INPUT_LENGTH } from '../src/spec/remote-call.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { MEMORY_SERVER, okIn } from './support/deployment-fixture.js';
import { eventually, present } from './support/eventually.js';
import { connectHttp, textOf } from './support/http-gateway.js';
import { connectThroughReins } from './support/reins-mcp-client.js';
import { type SpawnedGateway, spawnGateway } from './support/spawned-gateway.js';

const ROOT = resolve(import.meta.dirname, '..');
const EVERYTHING_SERVER = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-everything/dist/index.js',
);
const META_SERVER = join(ROOT, 'test/support/trace-meta-server.ts');

const REQUEST = "Look up Ada's record and send her a note";
const SECRET = 'AKIAIOSFODNN7EXAMPLE';
const NOTE = 'Note for ada@example.com: your record is up to date';
/** Where the address sits in what `search_nodes` returns: JSON held as the text of its first part. */
const ADDRESS_FIELD = '/content/0/text#/entities/0/observations/0';

const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: provenance }
tools:
  - { server: memory, name: search_nodes, risk: low, effects: [read] }
  - { server: memory, name: add_observations, risk: medium, effects: [write] }
  - { server: memory, name: "resource:*", risk: low, effects: [read] }
  - { server: everything, name: echo, risk: medium, effects: [write, external] }
  - { server: meta, name: meta, risk: low, effects: [read] }
rules:
  - { id: notes, effect: allow, tool: { server: memory }, reason: the assistant keeps its notes in memory }
  - { id: send, effect: allow, tool: { server: everything, name: echo }, reason: notes may go out }
  - { id: meta, effect: allow, tool: { server: meta }, reason: shows what reaches an upstream }
redaction: {}
`;

/** Ada's record, there before any session (as a CRM's would be), and the outbox notes go to. */
function seedMemory(file: string): void {
  writeFileSync(
    file,
    [
      { type: 'entity', name: 'Ada Lovelace', entityType: 'person', observations: ['ada@example.com'] },
      { type: 'entity', name: 'Outbox', entityType: 'outbox', observations: [] },
    ]
      .map((line) => JSON.stringify(line))
      .join('\n'),
  );
}

/** A new Reins session of `agent` through one gateway, and the id it is recorded under. */
interface Session {
  readonly client: Client;
  readonly sessionId: string;
  /** The session's credential (HTTP). */
  readonly token?: string;
}

/** A gateway front: the built `reins mcp` over stdio, or the built `reins gateway` over HTTP. */
interface Front {
  readonly db: string;
  readonly memoryFile: string;
  open(agent: string): Promise<Session>;
  close(): Promise<void>;
}

const directories: string[] = [];
function directory(name: string): string {
  const made = mkdtempSync(join(tmpdir(), `reins-provenance-${name}-`));
  directories.push(made);
  return made;
}

/** `reins mcp` in front of the memory server: one process, one agent, one session per client. */
function stdioFront(): Front {
  const dir = directory('stdio');
  const db = join(dir, 'reins.db');
  const memoryFile = join(dir, 'memory.jsonl');
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, POLICY);
  seedMemory(memoryFile);
  const created = new Set<string>();
  const clients: Client[] = [];
  return {
    db,
    memoryFile,
    async open(agent) {
      if (!created.has(agent)) {
        okIn(
          ROOT,
          {},
          'agents',
          'create',
          agent,
          '--owner',
          'olivia@example.com',
          '--scopes',
          'memory/*',
          '--db',
          db,
        );
        created.add(agent);
      }
      let stderr = '';
      const client = await connectThroughReins({
        agent,
        policy,
        db,
        lock: join(dir, 'reins.lock'),
        name: 'memory',
        upstream: [MEMORY_SERVER],
        clientName: 'provenance-stdio-test',
        env: { MEMORY_FILE_PATH: memoryFile },
        reinsArgs: ['--env', 'MEMORY_FILE_PATH'],
        onStderr: (chunk) => {
          stderr += chunk;
        },
      });
      clients.push(client);
      // `reins mcp` names the session it made for this process on standard error
      const sessionId = await eventually(() =>
        present(/session (mcp-\S+),/.exec(stderr)?.[1], 'reins mcp has not named its session'),
      );
      return { client, sessionId };
    },
    async close() {
      for (const client of clients) await client.close();
    },
  };
}

let httpGateway: SpawnedGateway | undefined;

/** The HTTP gateway in front of the memory server and server-everything; a credential per session. */
async function httpFront(): Promise<Front> {
  const dir = directory('http');
  const memoryFile = join(dir, 'memory.jsonl');
  seedMemory(memoryFile);
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
  const config = join(dir, 'reins.yaml');
  writeFileSync(
    config,
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: state/audit.db }
keys:
  credentials: { directory: secrets/credentials }
  checkpoints: { directory: secrets/checkpoints }
lock: pins/reins.lock
upstreams:
  - name: memory
    stdio: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(MEMORY_SERVER)}], env: { MEMORY_FILE_PATH: ${JSON.stringify(memoryFile)} } }
  - name: everything
    stdio: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(EVERYTHING_SERVER)}] }
listen: { host: 127.0.0.1, port: 0 }
`,
  );
  const cli = (...args: string[]) => okIn(dir, {}, ...args, '--config', config).trim();
  cli('keys', 'generate');
  for (const [agent, scopes] of [
    ['assistant', 'memory/*'],
    ['orchestrator', 'memory/*,everything/echo'],
    ['mailer', 'everything/echo'],
  ] as const)
    cli('agents', 'create', agent, '--owner', 'olivia@example.com', '--scopes', scopes);
  httpGateway = await spawnGateway(config);
  const endpoint = httpGateway.endpoint;
  const clients: Client[] = [];
  let sessions = 0;
  return {
    db: join(dir, 'state/audit.db'),
    memoryFile,
    async open(agent) {
      const sessionId = `case-${++sessions}`;
      const token = cli('agents', 'token', agent, '--session', sessionId);
      const client = await connectHttp(endpoint, token);
      clients.push(client);
      return { client, sessionId, token };
    },
    async close() {
      for (const client of clients) await client.close();
      await httpGateway?.stop();
    },
  };
}

const fronts = new Map<string, Front>();
beforeAll(async () => {
  fronts.set('stdio', stdioFront());
  fronts.set('http', await httpFront());
}, 120_000);

// every scenario starts from the same records: a note an earlier one sent would match the search too
// (and a sentence in the JSON text the memory server returns makes all of that text untrusted)
beforeEach(() => {
  for (const front of fronts.values()) seedMemory(front.memoryFile);
});

afterAll(async () => {
  for (const front of fronts.values()) await front.close();
  for (const made of directories.splice(0)) rmSync(made, { recursive: true, force: true });
});

/** The session's call intents, oldest first, as the gateway's store holds them. */
/** What the built `reins audit trace` prints for a call of the gateway's store. */
function traceOf(db: string, decisionId: string, sessionId?: string): string {
  const session = sessionId === undefined ? [] : ['--session', sessionId];
  const result = spawnSync(
    process.execPath,
    [resolve('bin/reins.js'), 'audit', 'trace', '--db', db, ...session, decisionId],
    {
      encoding: 'utf8',
      env: { ...process.env, REINS_DATABASE_URL: '', REINS_CONFIG: '' },
    },
  );
  if (result.status !== 0) throw new Error(`reins audit trace failed: ${result.stderr}`);
  return result.stdout;
}

async function intentsOf(db: string, sessionId: string): Promise<CallIntentEvent[]> {
  const log = new SqliteAuditLog({ path: db, readOnly: true });
  try {
    const records = await log.query({ sessionId, kind: 'call-intent' });
    return records.flatMap((record) => (record.event.kind === 'call-intent' ? [record.event] : []));
  } finally {
    await log.close();
  }
}

const sourcesAt = (intent: CallIntentEvent | undefined, arg: string): ArgumentSource[] =>
  (intent?.provenance?.sources ?? []).filter((source) => source.arg === arg);

async function call(
  client: Client,
  name: string,
  args: Record<string, unknown>,
  meta?: Record<string, unknown>,
): Promise<CallToolResult> {
  const result = (await client.callTool({
    name,
    arguments: args,
    ...(meta === undefined ? {} : { _meta: meta }),
  })) as CallToolResult;
  expect(result.isError, textOf(result)).toBeFalsy();
  return result;
}

const lookUpAda = (client: Client, meta?: Record<string, unknown>) =>
  call(client, 'memory__search_nodes', { query: 'Ada' }, meta);
const sendNote = (client: Client, note = NOTE) =>
  call(client, 'memory__add_observations', { observations: [{ entityName: 'Outbox', contents: [note] }] });

/** The outbox's notes, as the memory server stored them. */
function outbox(front: Front): string[] {
  const lines = readFileSync(front.memoryFile, 'utf8').split('\n').filter(Boolean);
  const entity = lines.map((line) => JSON.parse(line)).find((item) => item.name === 'Outbox');
  return entity?.observations ?? [];
}

describe.each(['stdio', 'http'])('the user request an MCP client declares (%s)', (name) => {
  const front = () => fronts.get(name) as Front;

  it('chains the note sent to the read whose field held the address, and the read to the request declared with it', async () => {
    const { client, sessionId } = await front().open('assistant');
    await lookUpAda(client, { [USER_REQUEST_META]: REQUEST });
    await sendNote(client);

    const [read, send] = await intentsOf(front().db, sessionId);
    expect(read?.tool).toEqual({ server: 'memory', name: 'search_nodes' });
    expect(read?.provenance?.request).toEqual({ text: REQUEST, via: 'call' });
    // "Ada" is the user's: it links to the call whose intent carries the request (the read itself)
    expect(sourcesAt(read, '/query')).toEqual([
      { arg: '/query', match: 'phrase', trust: 'user', from: read?.decisionId },
    ]);
    expect(send?.provenance?.request).toBeUndefined();
    expect(sourcesAt(send, '/observations/0/contents/0')).toContainEqual({
      arg: '/observations/0/contents/0',
      match: 'email',
      trust: 'trusted',
      from: read?.decisionId,
      tool: 'memory/search_nodes',
      field: ADDRESS_FIELD,
    });
    // and `reins audit trace` prints that path: the send <- the read's field <- the user's request
    const printed = traceOf(front().db, send?.decisionId as string, sessionId);
    const at = (text: string) => printed.indexOf(text);
    const steps = [
      `memory/add_observations [decision ${send?.decisionId}]`,
      `← field ${ADDRESS_FIELD} of call ${read?.decisionId} (memory/search_nodes, trusted)`,
      `memory/search_nodes [decision ${read?.decisionId}]`,
      `← the user asked: "${REQUEST}" (declared with this call)`,
    ].map(at);
    expect(steps.every((index) => index >= 0)).toBe(true);
    expect([...steps].sort((a, b) => a - b)).toEqual(steps);
  }, 60_000);

  it('puts a request declared for the session on the record of its next call, redacted', async () => {
    const { client, sessionId } = await front().open('assistant');
    await lookUpAda(client, { [SESSION_REQUEST_META]: `${REQUEST}; my AWS key is ${SECRET}` });
    await sendNote(client);

    const [read, send] = await intentsOf(front().db, sessionId);
    expect(read?.provenance?.request?.via).toBe('session');
    expect(read?.provenance?.request?.text).toContain(REQUEST);
    expect(read?.provenance?.request?.text).not.toContain(SECRET);
    expect(sourcesAt(read, '/query')).toEqual([
      { arg: '/query', match: 'phrase', trust: 'user', from: read?.decisionId },
    ]);
    // declared once: the next call carries no request of its own
    expect(send?.provenance?.request).toBeUndefined();
    expect(sourcesAt(send, '/observations/0/contents/0')).toContainEqual(
      expect.objectContaining({ trust: 'trusted', from: read?.decisionId, field: ADDRESS_FIELD }),
    );
  }, 60_000);

  it('ends the chain at the model when nothing declares a request', async () => {
    const { client, sessionId } = await front().open('assistant');
    await lookUpAda(client);
    await sendNote(client);

    const [read, send] = await intentsOf(front().db, sessionId);
    expect(read?.provenance?.request).toBeUndefined();
    expect(sourcesAt(read, '/query')).toEqual([{ arg: '/query', match: 'value', trust: 'none' }]);
    // the send still links to the read; it is the read's argument whose source is nobody's
    expect(sourcesAt(send, '/observations/0/contents/0')).toContainEqual(
      expect.objectContaining({ trust: 'trusted', from: read?.decisionId, field: ADDRESS_FIELD }),
    );
  }, 60_000);

  it('refuses a malformed declaration with invalid params naming the key, and runs nothing', async () => {
    const { client, sessionId } = await front().open('assistant');
    const before = outbox(front());
    const malformed: unknown[] = [
      42,
      '',
      '   ',
      'x'.repeat(MAX_USER_INPUT_LENGTH + 1),
      null,
      ['a'],
      { a: 1 },
    ];
    for (const key of [USER_REQUEST_META, SESSION_REQUEST_META]) {
      for (const value of malformed) {
        const refused = client.callTool({
          name: 'memory__add_observations',
          arguments: { observations: [{ entityName: 'Outbox', contents: ['should never be stored'] }] },
          _meta: { [key]: value },
        });
        await expect(refused, `${key}: ${JSON.stringify(value).slice(0, 20)}`).rejects.toMatchObject({
          code: ErrorCode.InvalidParams,
          message: expect.stringContaining(`\`_meta["${key}"]\``),
        });
      }
    }
    expect(outbox(front())).toEqual(before);
    // nothing was recorded for them, and nothing declared: the session's next call is its first
    await lookUpAda(client);
    const intents = await intentsOf(front().db, sessionId);
    expect(intents.map((intent) => intent.tool.name)).toEqual(['search_nodes']);
    expect(intents[0]?.provenance?.request).toBeUndefined();
  }, 60_000);
});

describe.each(['stdio', 'http'])('a resource read (%s)', (name) => {
  it('takes the request declared with it, and refuses a malformed one', async () => {
    const front = fronts.get(name) as Front;
    const { client, sessionId } = await front.open('assistant');
    const uri = 'memory://knowledge-graph';
    await expect(client.readResource({ uri, _meta: { [USER_REQUEST_META]: 7 } })).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
      message: expect.stringContaining(`\`_meta["${USER_REQUEST_META}"]\``),
    });
    await client.readResource({ uri, _meta: { [USER_REQUEST_META]: REQUEST } });
    const intents = await intentsOf(front.db, sessionId);
    expect(intents.map((intent) => [intent.tool.name, intent.provenance?.request])).toEqual([
      [`resource:${uri}`, { text: REQUEST, via: 'call' }],
    ]);
  }, 60_000);
});

describe('what reaches the upstream', () => {
  it('never passes the request keys on to an upstream', async () => {
    const dir = directory('meta');
    const db = join(dir, 'reins.db');
    writeFileSync(join(dir, 'policy.yaml'), POLICY);
    okIn(
      ROOT,
      {},
      'agents',
      'create',
      'desk',
      '--owner',
      'olivia@example.com',
      '--scopes',
      'meta/*',
      '--db',
      db,
    );
    const client = await connectThroughReins({
      agent: 'desk',
      policy: join(dir, 'policy.yaml'),
      db,
      lock: join(dir, 'reins.lock'),
      name: 'meta',
      upstream: ['--import', 'tsx', META_SERVER],
      clientName: 'provenance-meta-test',
    });
    try {
      const result = await call(
        client,
        'meta__meta',
        {},
        { [USER_REQUEST_META]: REQUEST, [SESSION_REQUEST_META]: REQUEST, 'example.com/other': 1 },
      );
      const received = JSON.parse(textOf(result)) as Record<string, unknown>;
      expect(Object.keys(received).filter((key) => key.startsWith('reins.dev/'))).toEqual([]);
      expect(JSON.stringify(received)).not.toContain(REQUEST);
    } finally {
      await client.close();
    }
  }, 60_000);
});

describe('across a delegated credential (http)', () => {
  it("links the subagent's send to the orchestrator's read, in the orchestrator's session", async () => {
    const http = fronts.get('http') as Front;
    const orchestrator = await http.open('orchestrator');
    await lookUpAda(orchestrator.client, { [USER_REQUEST_META]: REQUEST });
    const issued = await fetch(new URL('/v1/token', (httpGateway as SpawnedGateway).endpoint), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: orchestrator.token as string,
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        audience: 'mailer',
        task: 'notify',
        scope: 'everything/echo',
      }).toString(),
    });
    expect(issued.status).toBe(200);
    const delegated = ((await issued.json()) as { access_token: string }).access_token;
    const mailer = await connectHttp((httpGateway as SpawnedGateway).endpoint, delegated);
    try {
      await call(mailer, 'everything__echo', { message: NOTE });
    } finally {
      await mailer.close();
    }

    const [read] = await intentsOf(http.db, orchestrator.sessionId);
    expect(sourcesAt(read, '/query')).toEqual([
      { arg: '/query', match: 'phrase', trust: 'user', from: read?.decisionId },
    ]);
    const subSession = `${orchestrator.sessionId}/notify`;
    const [send] = await intentsOf(http.db, subSession);
    expect(send?.principal).toMatchObject({
      agentId: 'mailer',
      delegatedBy: ['orchestrator'],
      parentSessions: [orchestrator.sessionId],
    });
    expect(sourcesAt(send, '/message')).toContainEqual({
      arg: '/message',
      match: 'email',
      trust: 'trusted',
      from: read?.decisionId,
      tool: 'memory/search_nodes',
      field: ADDRESS_FIELD,
      session: orchestrator.sessionId,
    });
    // `reins audit trace` follows the hop: the mailer's send -> the orchestrator's read -> the request
    const printed = traceOf(http.db, send?.decisionId as string);
    expect(printed).toContain(
      `← field ${ADDRESS_FIELD} of call ${read?.decisionId} (memory/search_nodes, trusted) (the email inside the value) — delegation hop into session ${orchestrator.sessionId}`,
    );
    expect(printed).toContain(`← the user asked: "${REQUEST}"`);
  }, 60_000);
});
