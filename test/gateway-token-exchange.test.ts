/**
 * @module test/gateway-token-exchange.test
 * Token exchange for agents (issue 14, RFC 8693) on the gateway's own listener, end to end against the
 * built `reins gateway` (the memory server from npm upstream): an orchestrator exchanges its credential
 * with `fetch` for a narrower one for a worker, the worker uses it through the official MCP SDK client
 * over Streamable HTTP, and
 * - the child is narrower: a tool outside the scope it was given is refused;
 * - its calls carry the session it was delegated from (`principal.parentSessions`) in the audit log,
 *   down a chain of two exchanges;
 * - malformed requests get RFC 6749 §5.2 errors (400 and a JSON `error`), with no token material in them;
 * - a revoked parent credential, or one of a suspended agent, cannot exchange.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Authenticator } from '../src/auth/authenticator.js';
import { directoryKeySource } from '../src/keys/key-source.js';
import { SqliteIdentityStore } from '../src/store/sqlite/sqlite-identity-store.js';
import { createDeployment, type Deployment, okIn, REINS_BIN } from './support/deployment-fixture.js';
import { eventually } from './support/eventually.js';
import { connectHttp } from './support/http-gateway.js';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

let deployment: Deployment;
let gateway: ChildProcess | undefined;
let endpoint = '';
let tokenUrl = '';
let parentToken = '';
const clients: Client[] = [];

const run = (...args: string[]) => okIn(deployment.directory, {}, ...args);

beforeAll(async () => {
  deployment = createDeployment();
  run('keys', 'generate', '--config', deployment.config);
  for (const [id, scopes] of [
    ['orchestrator', 'memory/*'],
    ['worker', 'memory/*'],
    ['auditor', 'memory/read_graph'],
    ['outsider', 'crm/*'],
  ] as const)
    run(
      'agents',
      'create',
      id,
      '--owner',
      'olivia@example.com',
      '--scopes',
      scopes,
      '--config',
      deployment.config,
    );
  parentToken = run(
    'agents',
    'token',
    'orchestrator',
    '--session',
    'case-7',
    '--config',
    deployment.config,
  ).trim();
  gateway = spawn(process.execPath, [REINS_BIN, 'gateway', '--config', deployment.config], {
    cwd: deployment.directory,
    env: { ...process.env, REINS_DATABASE_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  endpoint = await new Promise<string>((resolve, reject) => {
    const look = (chunk: Buffer) => {
      output.push(chunk.toString());
      const match = /listening on (http:\/\/\S+)/.exec(output.join(''));
      if (match) resolve(match[1] as string);
    };
    gateway?.stdout?.on('data', look);
    gateway?.stderr?.on('data', look);
    gateway?.once('exit', (code) => reject(new Error(`gateway exited ${code}: ${output.join('')}`)));
  });
  tokenUrl = new URL('/v1/token', endpoint).href;
}, 120_000);

afterAll(async () => {
  for (const client of clients) await client.close().catch(() => {});
  if (gateway && gateway.exitCode === null) {
    const exited = new Promise((resolve) => gateway?.once('exit', resolve));
    gateway.kill('SIGTERM');
    await exited;
  }
  rmSync(deployment.directory, { recursive: true, force: true });
});

/** POSTs RFC 8693 form parameters to the token endpoint. */
async function exchange(
  parameters: Record<string, string>,
  init: RequestInit = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers; text: string }> {
  const response = await fetch(tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(parameters).toString(),
    ...init,
  });
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // asserted by the caller
  }
  return { status: response.status, body, headers: response.headers, text };
}

/** A well-formed exchange of `subject` for a credential of `audience`. */
const delegation = (subject: string, extra: Record<string, string> = {}) => ({
  grant_type: TOKEN_EXCHANGE,
  subject_token: subject,
  subject_token_type: JWT_TYPE,
  audience: 'worker',
  task: 'look-up',
  ...extra,
});

function intentsOf(
  session: string,
): { principal: Record<string, unknown>; decision: Record<string, unknown>; tool: { name: string } }[] {
  return run(
    'audit',
    'query',
    '--config',
    deployment.config,
    '--session',
    session,
    '--kind',
    'call-intent',
    '--format',
    'json',
  )
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { event: never }).event);
}

describe('POST /v1/token on the gateway listener', () => {
  it('exchanges the orchestrator credential for a narrower one the worker uses over MCP', async () => {
    const issued = await exchange(delegation(parentToken, { scope: 'memory/read_graph' }));
    expect(issued.status).toBe(200);
    expect(issued.headers.get('cache-control')).toBe('no-store');
    expect(issued.body).toMatchObject({
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      scope: 'memory/read_graph',
    });
    const expiresIn = issued.body.expires_in as number;
    expect(expiresIn).toBeGreaterThan(0);
    expect(expiresIn).toBeLessThanOrEqual(900);
    const child = issued.body.access_token as string;
    expect(decodeJwt(child)).toMatchObject({
      sub: 'worker',
      sid: 'case-7/look-up',
      psn: ['case-7'],
      act: { sub: 'orchestrator' },
      task: 'look-up',
    });

    const worker = await connectHttp(endpoint, child);
    clients.push(worker);
    expect((await worker.listTools()).tools.map((tool) => tool.name)).toEqual(['memory__read_graph']);
    expect((await worker.callTool({ name: 'memory__read_graph', arguments: {} })).isError).toBeFalsy();
    // narrower: the parent may create entities, the child may not
    const refused = await worker.callTool({ name: 'memory__create_entities', arguments: { entities: [] } });
    expect(refused.isError).toBe(true);

    const intents = intentsOf('case-7/look-up');
    expect(intents.map((intent) => [intent.tool.name, intent.decision.effect])).toEqual([
      ['read_graph', 'allow'],
      ['create_entities', 'deny'],
    ]);
    for (const intent of intents)
      expect(intent.principal).toMatchObject({
        agentId: 'worker',
        delegatedBy: ['orchestrator'],
        parentSessions: ['case-7'],
        scopes: ['memory/read_graph'],
      });
  });

  it('exchanges a delegated credential again: the lineage grows, outermost first', async () => {
    const child = (await exchange(delegation(parentToken, { task: 'triage' }))).body.access_token as string;
    const grandchild = await exchange(
      delegation(child, { audience: 'auditor', task: 'check', session: 'case-7/triage/check-1', ttl: '120' }),
    );
    expect(grandchild.status).toBe(200);
    expect(grandchild.body).toMatchObject({ scope: 'memory/read_graph', expires_in: 120 });
    const auditor = await connectHttp(endpoint, grandchild.body.access_token as string);
    clients.push(auditor);
    expect((await auditor.callTool({ name: 'memory__read_graph', arguments: {} })).isError).toBeFalsy();
    expect(intentsOf('case-7/triage/check-1')[0]?.principal).toMatchObject({
      agentId: 'auditor',
      delegatedBy: ['orchestrator', 'worker'],
      parentSessions: ['case-7', 'case-7/triage'],
    });
  });

  it('answers malformed and refused requests with RFC 6749 errors, never echoing the credential', async () => {
    const cases: [string, Record<string, string>, number, string][] = [
      ['no grant type', { ...delegation(parentToken), grant_type: '' }, 400, 'invalid_request'],
      [
        'another grant',
        { ...delegation(parentToken), grant_type: 'client_credentials' },
        400,
        'unsupported_grant_type',
      ],
      ['no subject token', { ...delegation(parentToken), subject_token: '' }, 400, 'invalid_request'],
      [
        'no subject token type',
        { ...delegation(parentToken), subject_token_type: '' },
        400,
        'invalid_request',
      ],
      [
        'a subject token type it does not take',
        { ...delegation(parentToken), subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' },
        400,
        'invalid_request',
      ],
      ['no audience', { ...delegation(parentToken), audience: '' }, 400, 'invalid_request'],
      ['no task', { ...delegation(parentToken), task: '' }, 400, 'invalid_request'],
      ['an unknown agent', delegation(parentToken, { audience: 'ghost' }), 400, 'invalid_target'],
      [
        'a resource instead of an agent',
        delegation(parentToken, { resource: 'https://x.example' }),
        400,
        'invalid_target',
      ],
      ['a scope the parent lacks', delegation(parentToken, { scope: 'crm/db.select' }), 400, 'invalid_scope'],
      ['a scope that is not one', delegation(parentToken, { scope: 'memory/*/x*' }), 400, 'invalid_scope'],
      [
        'an agent whose mission shares nothing',
        delegation(parentToken, { audience: 'outsider' }),
        400,
        'invalid_scope',
      ],
      ['a ttl that is not whole seconds', delegation(parentToken, { ttl: '1e3' }), 400, 'invalid_request'],
      ['a ttl longer than the parent', delegation(parentToken, { ttl: '86400' }), 400, 'invalid_request'],
      ['an actor token', delegation(parentToken, { actor_token: parentToken }), 400, 'invalid_request'],
      ['a forged subject token', delegation(`${parentToken.slice(0, -4)}AAAA`), 400, 'invalid_request'],
      ['a subject token that is not one', delegation('not-a-token-at-all'), 400, 'invalid_request'],
    ];
    for (const [what, parameters, status, error] of cases) {
      const response = await exchange(parameters);
      expect({ what, status: response.status, error: response.body.error }).toEqual({ what, status, error });
      expect(typeof response.body.error_description, what).toBe('string');
      expect(response.text, what).not.toContain(parentToken.split('.')[1]);
      expect(response.text, what).not.toContain(parentToken.split('.')[2]);
    }

    const twice = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `${new URLSearchParams(delegation(parentToken))}&audience=auditor`,
    });
    expect(twice.status).toBe(400);
    expect(await twice.json()).toMatchObject({ error: 'invalid_request' });

    const json = await exchange(
      {},
      { body: JSON.stringify(delegation(parentToken)), headers: { 'content-type': 'application/json' } },
    );
    expect(json).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    const get = await fetch(tokenUrl);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    const huge = await exchange(delegation(parentToken, { task: 'x'.repeat(100_000) }));
    expect(huge).toMatchObject({ status: 413, body: { error: 'invalid_request' } });
  });

  it('refuses a revoked parent credential and the credential of a suspended agent', async () => {
    const revokedParent = run(
      'agents',
      'token',
      'orchestrator',
      '--session',
      'case-8',
      '--config',
      deployment.config,
    ).trim();
    expect((await exchange(delegation(revokedParent))).status).toBe(200);
    // no command revokes one token: the library does, on the deployment's store
    const store = new SqliteIdentityStore({ path: deployment.db });
    const auth = await Authenticator.open({ store, keys: directoryKeySource(deployment.credentialKeys) });
    try {
      await auth.revoke('token', decodeJwt(revokedParent).jti as string, { by: 'sec@example.com' });
    } finally {
      await auth.close();
      await store.close();
    }
    await eventually(async () =>
      expect(await exchange(delegation(revokedParent))).toMatchObject({
        status: 400,
        body: { error: 'invalid_request', error_description: expect.stringContaining('revoked') },
      }),
    );

    const admin = run(
      'users',
      'create',
      'sec@example.com',
      '--role',
      'admin',
      '--config',
      deployment.config,
    ).trim();
    const adminFile = join(deployment.directory, 'admin.token');
    writeFileSync(adminFile, admin, { mode: 0o600 });
    run(
      'agents',
      'suspend',
      'orchestrator',
      '--token-file',
      adminFile,
      '--reason',
      'incident 12',
      '--config',
      deployment.config,
    );
    await eventually(async () =>
      expect(await exchange(delegation(parentToken))).toMatchObject({
        status: 400,
        body: { error: 'invalid_request', error_description: expect.stringContaining('suspended') },
      }),
    );
  });
});
