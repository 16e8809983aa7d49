/**
 * @module test/control-api.test
 * The control-plane API over HTTP semantics (Hono `app.request`, no port): authentication (401),
 * roles (a viewer cannot approve, an approver can, admin-only actions), console cookies with CSRF,
 * the one error format and its status codes, security headers, and a valid OpenAPI document. The
 * held call is a real harness call that waits until the API approves it.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleSessions } from '../src/api/console-sessions.js';
import { createControlApi, type PolicyStatusSource } from '../src/api/control-api.js';
import { createUser } from '../src/api/users.js';
import { AgentRegistry } from '../src/auth/agent-registry.js';
import { Authenticator } from '../src/auth/authenticator.js';
import { type OversightWiring, wireOversight } from '../src/cli/oversight-wiring.js';
import { Harness } from '../src/harness/harness.js';
import { ephemeralKeySource } from '../src/identity/key-ring.js';
import { StoreOversight } from '../src/oversight/store-oversight.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { SqliteIdentityStore } from '../src/store/sqlite/sqlite-identity-store.js';
import { SqliteUserStore } from '../src/store/sqlite/sqlite-user-store.js';
import { policyFrom } from './support/policy-fixtures.js';

const policy = policyFrom(
  `rules:
  - { id: lookups, effect: allow, tool: { server: pay, name: payments.lookup }, reason: lookups are harmless }
  - { id: payments-need-a-human, effect: approve, tool: { server: pay, name: payments.send }, reason: payments need a human }
  - id: writes-need-finance
    effect: approve
    tool: { server: crm, name: db.execute }
    reason: ledger writes need two of finance
    approval: { approvers: finance-approvers, quorum: 2 }`,
);
const policySource: PolicyStatusSource = {
  current: policy,
  status: () => ({
    path: 'policy.yaml',
    hash: policy.hash,
    files: ['policy.yaml'],
    summary: { ...policy.summary },
    loadedAt: '2026-01-01T00:00:00.000Z',
  }),
};

/** Real time, moved ahead by a test instead of sleeping (credentials carry their issue second). */
let skew = 0;
const clock = () => Date.now() + skew;
let audit: SqliteAuditLog;
let identity: SqliteIdentityStore;
let users: SqliteUserStore;
let authenticator: Authenticator;
let oversight: StoreOversight;
let wiring: OversightWiring;
let harness: Harness;
let app: ReturnType<typeof createControlApi>;
const internalErrors: string[] = [];
const tokens: Record<'viewer' | 'approver' | 'admin' | 'finance1' | 'finance2', string> = {
  viewer: '',
  approver: '',
  admin: '',
  finance1: '',
  finance2: '',
};

beforeAll(async () => {
  audit = new SqliteAuditLog({ path: ':memory:' });
  identity = new SqliteIdentityStore({ path: ':memory:' });
  users = new SqliteUserStore({ path: ':memory:' });
  authenticator = await Authenticator.open({ store: identity, audit, keys: ephemeralKeySource(), clock });
  await new AgentRegistry(identity).create({ id: 'payer', owner: 'owner@example.com', scopes: ['pay/*'] });
  // the real oversight service on SQLite stores, wired into the harness as `reins serve` does
  wiring = await wireOversight({ db: ':memory:' }, { approvalTimeoutMs: 60_000, log: () => {} });
  oversight = new StoreOversight({
    clock,
    approvals: wiring.stores.approvals,
    sessions: wiring.stores.sessions,
    identities: identity,
    audit,
  });
  harness = new Harness({
    policy: { current: policy },
    audit,
    sessions: wiring.sessions,
    approvals: wiring.approvals,
    overrides: wiring.overrides,
  });
  for (const role of ['viewer', 'approver', 'admin'] as const) {
    tokens[role] = (await createUser(users, { id: `${role}@example.com`, roles: [role], by: 'test' })).token;
  }
  for (const name of ['finance1', 'finance2'] as const) {
    const roles = ['viewer', 'finance-approvers'];
    tokens[name] = (await createUser(users, { id: `${name}@example.com`, roles, by: 'test' })).token;
  }
  app = createControlApi({
    clock,
    oversight,
    audit,
    users,
    identity,
    authenticator,
    policy: policySource,
    log: (line) => internalErrors.push(line),
  });
});

afterAll(async () => {
  await wiring.close();
  authenticator.close();
  await users.close();
  await identity.close();
  await audit.close();
});

function call(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  return app.request(path, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
}

/** Starts a payment the policy holds; resolves once its approval request exists. */
async function holdPayment(amount: number) {
  const result = harness.call(
    {
      principal: { agentId: 'payer', owner: 'owner@example.com' },
      sessionId: `session-${amount}`,
      tool: { server: 'pay', name: 'payments.send' },
      args: { amount },
    },
    async (args) => ({ sent: args.amount }),
  );
  const sessionId = `session-${amount}`;
  await expect.poll(async () => (await oversight.listApprovals({ sessionId })).length).toBe(1);
  const id = ((await oversight.listApprovals({ sessionId }))[0] as { id: string }).id;
  return { id, result };
}

describe('authentication', () => {
  it('answers a request without credentials with 401 in the error format', async () => {
    const response = await call('GET', '/v1/approvals');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('Bearer');
    const body = await response.json();
    expect(body).toEqual({ error: { code: 'unauthenticated', message: expect.any(String) } });
  });

  it('refuses an unknown token and a malformed header with 401', async () => {
    expect((await call('GET', '/v1/approvals', { token: 'reins_u_not-a-real-token' })).status).toBe(401);
    const basic = await call('GET', '/v1/approvals', { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    expect(basic.status).toBe(401);
  });

  it('takes the scheme of an API token in any case (RFC 9110: it is case-insensitive)', async () => {
    for (const scheme of ['bearer', 'BEARER']) {
      const headers = { authorization: `${scheme} ${tokens.viewer}` };
      expect((await call('GET', '/v1/approvals', { headers })).status, scheme).toBe(200);
    }
  });

  it('refuses a malformed header with 401 and says what to send, as the gateway refuses it', async () => {
    for (const authorization of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer    ', `Bearer ${tokens.viewer} x`]) {
      const response = await call('GET', '/v1/approvals', { headers: { authorization } });
      expect(response.status, authorization).toBe(401);
      expect(await response.json(), authorization).toEqual({
        error: { code: 'unauthenticated', message: 'use `Authorization: Bearer <token>`' },
      });
    }
  });

  it('refuses a forged agent credential with 401', async () => {
    const response = await call('POST', '/v1/decide', {
      token: 'eyJhbGciOiJFZERTQSJ9.e30.c2ln',
      body: { tool: { server: 'pay', name: 'payments.lookup' } },
    });
    expect(response.status).toBe(401);
  });
});

describe('roles', () => {
  it('lets a viewer read but not approve (403), and an approver approve: the held call then runs', async () => {
    const { id, result } = await holdPayment(100);
    const listed = await call('GET', '/v1/approvals?status=pending', { token: tokens.viewer });
    expect(listed.status).toBe(200);
    const { approvals } = (await listed.json()) as { approvals: { id: string; args: unknown }[] };
    expect(approvals.find((record) => record.id === id)?.args).toEqual({ amount: 100 });

    const refused = await call('POST', `/v1/approvals/${id}/approve`, {
      token: tokens.viewer,
      body: { reason: 'looks fine' },
    });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    expect((await oversight.getApproval(id))?.status).toBe('pending');

    const approved = await call('POST', `/v1/approvals/${id}/approve`, {
      token: tokens.approver,
      body: { reason: 'invoice 42 checked' },
    });
    expect(approved.status).toBe(200);
    expect(((await approved.json()) as { status: string }).status).toBe('approved');
    const outcome = await result;
    expect(outcome.status).toBe('ok');

    const actions = await audit.query({ kind: 'operator-action' });
    const action = actions.find((record) => record.event.decisionId === id)?.event;
    expect(action).toMatchObject({ action: 'approval.approve', actor: { id: 'approver@example.com' } });
  });

  it('answers a second vote on a decided request with 409, an unknown one with 404', async () => {
    const { id, result } = await holdPayment(200);
    const deny = await call('POST', `/v1/approvals/${id}/deny`, {
      token: tokens.admin,
      body: { reason: 'no' },
    });
    expect(deny.status).toBe(200);
    expect((await result).status).toBe('denied');
    const again = await call('POST', `/v1/approvals/${id}/approve`, {
      token: tokens.admin,
      body: { reason: 'x' },
    });
    expect(again.status).toBe(409);
    const unknown = await call('GET', '/v1/approvals/nope', { token: tokens.viewer });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('answers a vote on an expired request with 410', async () => {
    const { id: heldId } = await holdPayment(250);
    const held = await oversight.getApproval(heldId);
    if (held === undefined) throw new Error('missing');
    // a request whose expiry has passed (written as a process would have, long ago)
    const id = `${heldId}-old`;
    await wiring.stores.approvals.create({ ...held, id, expiresAt: '2000-01-01T00:00:00.000Z' });
    const response = await call('POST', `/v1/approvals/${id}/approve`, {
      token: tokens.approver,
      body: { reason: 'late' },
    });
    expect(response.status).toBe(410);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('expired');
    expect((await oversight.getApproval(id))?.status).toBe('expired');
  });

  it('keeps agent suspension and credential revocation to admins', async () => {
    for (const token of [tokens.viewer, tokens.approver]) {
      const response = await call('POST', '/v1/agents/payer/suspend', { token, body: { reason: 'x' } });
      expect(response.status).toBe(403);
      const revoke = await call('POST', '/v1/agents/payer/credentials/revoke', {
        token,
        body: { reason: 'x' },
      });
      expect(revoke.status).toBe(403);
    }
    expect((await identity.getAgent('payer'))?.state).toBe('active');
    const suspended = await call('POST', '/v1/agents/payer/suspend', {
      token: tokens.admin,
      body: { reason: 'leak' },
    });
    expect(suspended.status).toBe(200);
    expect(((await suspended.json()) as { agent: { state: string } }).agent.state).toBe('suspended');
    expect((await identity.getAgent('payer'))?.state).toBe('suspended');
    const resumed = await call('POST', '/v1/agents/payer/resume', {
      token: tokens.admin,
      body: { reason: 'fixed' },
    });
    expect(resumed.status).toBe(200);
    // suspension revoked the credentials issued up to that second; later tests need fresh ones
    skew += 1_000;
  });

  it('revokes an agent credential through the API, audited as an operator action', async () => {
    const { token } = await authenticator.issue('payer');
    const before = await call('POST', '/v1/decide', {
      token,
      body: { tool: { server: 'pay', name: 'payments.lookup' } },
    });
    expect(before.status).toBe(200);
    expect(((await before.json()) as { effect: string }).effect).toBe('allow');
    skew += 1_000; // revocation is by issue second
    const revoked = await call('POST', '/v1/agents/payer/credentials/revoke', {
      token: tokens.admin,
      body: { reason: 'laptop lost' },
    });
    expect(revoked.status).toBe(200);
    const detail = (await revoked.json()) as { revocations: { by: string; reason: string }[] };
    expect(detail.revocations).toContainEqual(
      expect.objectContaining({ by: 'admin@example.com', reason: 'laptop lost' }),
    );
    const after = await call('POST', '/v1/decide', {
      token,
      body: { tool: { server: 'pay', name: 'payments.lookup' } },
    });
    expect(after.status).toBe(401);
    const actions = await audit.query({ kind: 'operator-action', agentId: 'payer' });
    expect(actions.map((record) => (record.event as { action: string }).action)).toContain(
      'agent.credentials.revoke',
    );
  });

  it('lets an agent call only decide, for itself', async () => {
    skew += 1_000; // a token issued after the revocation
    const { token } = await authenticator.issue('payer');
    expect((await call('GET', '/v1/approvals', { token })).status).toBe(403);
    const forOther = await call('POST', '/v1/decide', {
      token,
      body: { principal: { agentId: 'someone-else' }, tool: { server: 'pay', name: 'payments.lookup' } },
    });
    expect(forOther.status).toBe(400);
    const held = await call('POST', '/v1/decide', {
      token,
      body: { tool: { server: 'pay', name: 'payments.send' } },
    });
    expect(((await held.json()) as { effect: string }).effect).toBe('approve');
  });

  it('lets a viewer ask what the policy would decide for any principal', async () => {
    const response = await call('POST', '/v1/decide', {
      token: tokens.viewer,
      body: { principal: { agentId: 'x' }, tool: { server: 'web', name: 'search' } },
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { effect: string }).effect).toBe('deny');
  });
});

describe('sessions', () => {
  it('kills a session for approvers only; a decision in it is then a deny', async () => {
    const id = 'session-100'; // opened by the first held payment
    const listed = await call('GET', '/v1/sessions', { token: tokens.viewer });
    const { sessions } = (await listed.json()) as { sessions: { id: string }[] };
    expect(sessions.map((session) => session.id)).toContain(id);
    const viewer = await call('POST', `/v1/sessions/${id}/kill`, {
      token: tokens.viewer,
      body: { reason: 'x' },
    });
    expect(viewer.status).toBe(403);
    const killed = await call('POST', `/v1/sessions/${id}/kill`, {
      token: tokens.approver,
      body: { reason: 'runaway' },
    });
    expect(killed.status).toBe(200);
    expect(await killed.json()).toMatchObject({
      status: 'killed',
      changedBy: 'approver@example.com',
      reason: 'runaway',
    });
    const again = await call('POST', `/v1/sessions/${id}/resume`, {
      token: tokens.admin,
      body: { reason: 'oops' },
    });
    expect(again.status).toBe(409); // a kill is final
    const decision = await call('POST', '/v1/decide', {
      token: tokens.viewer,
      body: {
        principal: { agentId: 'payer' },
        sessionId: id,
        tool: { server: 'pay', name: 'payments.lookup' },
      },
    });
    expect(await decision.json()).toMatchObject({ effect: 'deny' });
    const timeline = await call('GET', `/v1/sessions/${id}/timeline`, { token: tokens.viewer });
    const { steps } = (await timeline.json()) as {
      steps: { tool: string; outcome?: { event: { outcome: string } } }[];
    };
    expect(steps.map((step) => [step.tool, step.outcome?.event.outcome])).toEqual([
      ['pay/payments.send', 'ok'],
    ]);
  });
});

describe('live events', () => {
  it('streams approval changes to a viewer as server-sent events', async () => {
    const response = await call('GET', '/v1/events', { token: tokens.viewer });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let received = '';
    const readUntil = async (needle: string) => {
      while (!received.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before \`${needle}\`: ${received}`);
        received += decoder.decode(value);
      }
    };
    await readUntil('event: ready');
    const { id } = await holdPayment(400);
    await readUntil(`"id":"${id}"`);
    expect(received).toContain('event: approval');
    await reader.cancel();
  });

  it('ends a stream whose API token was rotated, or whose console session lost its user, before the next event', async () => {
    const bearer = await createUser(users, { id: 'streamer@example.com', roles: ['viewer'], by: 'test' });
    const cookieUser = await createUser(users, { id: 'tab@example.com', roles: ['viewer'], by: 'test' });
    const login = await call('POST', '/v1/login', { body: { token: cookieUser.token } });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const streams = [
      await call('GET', '/v1/events', { token: bearer.token }),
      await call('GET', '/v1/events', { headers: { cookie } }),
    ];
    const readers = streams.map((response) => {
      expect(response.status).toBe(200);
      return (response.body as ReadableStream<Uint8Array>).getReader();
    });
    const decoder = new TextDecoder();
    const readToEnd = async (reader: ReadableStreamDefaultReader<Uint8Array>) => {
      let text = '';
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        text += decoder.decode(chunk.value);
      }
      return text;
    };
    expect(await users.setTokenHash('streamer@example.com', 'rotated')).toBe(true);
    expect(await users.delete('tab@example.com')).toBe(true);
    const { id } = await holdPayment(410);
    for (const reader of readers) {
      const text = await readToEnd(reader); // the stream ends instead of delivering the request
      expect(text).toContain('event: ready');
      expect(text).not.toContain(id);
    }
  });
});

describe('policy roles and quorum', () => {
  it('counts votes from a role the policy names, and needs the quorum', async () => {
    const result = harness.call(
      {
        principal: { agentId: 'payer', owner: 'owner@example.com' },
        sessionId: 'ledger',
        tool: { server: 'crm', name: 'db.execute' },
        args: { sql: 'update ledger set amount = 0' },
      },
      async () => ({ rows: 1 }),
    );
    await expect.poll(async () => (await oversight.listApprovals({ sessionId: 'ledger' })).length).toBe(1);
    const id = ((await oversight.listApprovals({ sessionId: 'ledger' }))[0] as { id: string }).id;
    // an approver is not a finance approver: the oversight service refuses the vote
    const approver = await call('POST', `/v1/approvals/${id}/approve`, {
      token: tokens.approver,
      body: { reason: 'x' },
    });
    expect(approver.status).toBe(403);
    const first = await call('POST', `/v1/approvals/${id}/approve`, {
      token: tokens.finance1,
      body: { reason: 'ok' },
    });
    expect(first.status).toBe(200);
    expect(((await first.json()) as { status: string }).status).toBe('pending'); // 1 of 2
    const twice = await call('POST', `/v1/approvals/${id}/approve`, {
      token: tokens.finance1,
      body: { reason: 'again' },
    });
    expect(twice.status).toBe(409);
    const second = await call('POST', `/v1/approvals/${id}/approve`, {
      token: tokens.finance2,
      body: { reason: 'ok' },
    });
    expect(((await second.json()) as { status: string }).status).toBe('approved');
    expect((await result).status).toBe('ok');
  });
});

describe('errors', () => {
  it('answers invalid input with 400 naming the field', async () => {
    const response = await call('POST', '/v1/approvals/x/approve', {
      token: tokens.approver,
      body: { reason: '' },
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('invalid_input');
    expect(body.error.message).toContain('`reason`');
    const notJson = await app.request('/v1/approvals/x/approve', {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.approver}`, 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { code: string } }).error.code).toBe('invalid_input');
  });

  it('accepts JSON bodies only (415 otherwise), so that a cross-site form cannot post', async () => {
    const response = await app.request('/v1/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${tokens.admin}`,
    });
    expect(response.status).toBe(415);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
      'unsupported_media_type',
    );
    expect(response.headers.get('set-cookie')).toBeNull();
  });

  it('refuses a body over the limit with 413 before parsing it', async () => {
    const response = await call('POST', '/v1/approvals/x/approve', {
      token: tokens.approver,
      body: { reason: 'x'.repeat(1_100_000) },
    });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
  });

  it('never leaks internals: an unexpected error is a 500 with a generic message', async () => {
    const original = oversight.listSessions;
    oversight.listSessions = async () => {
      throw new Error('SQLITE_CORRUPT at /secret/path/audit.db');
    };
    try {
      const response = await call('GET', '/v1/sessions', { token: tokens.viewer });
      expect(response.status).toBe(500);
      const text = await response.text();
      expect(text).not.toContain('secret');
      expect(JSON.parse(text)).toEqual({ error: { code: 'internal_error', message: 'internal error' } });
      expect(internalErrors.join('\n')).toContain('SQLITE_CORRUPT');
    } finally {
      oversight.listSessions = original;
    }
  });

  it('answers an unknown route with 404 in the same format', async () => {
    const response = await call('GET', '/v1/nothing-here', { token: tokens.viewer });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });
});

describe('console sessions', () => {
  async function login(token: string) {
    const response = await call('POST', '/v1/login', { body: { token } });
    expect(response.status).toBe(200);
    const setCookie = response.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    const cookie = setCookie.split(';')[0] as string;
    const { csrfToken } = (await response.json()) as { csrfToken: string };
    return { cookie, csrfToken };
  }

  it('refuses a login with a wrong token', async () => {
    const response = await call('POST', '/v1/login', { body: { token: 'reins_u_wrong' } });
    expect(response.status).toBe(401);
  });

  it('requires the CSRF token on cookie-authenticated writes', async () => {
    const { cookie, csrfToken } = await login(tokens.approver);
    const read = await call('GET', '/v1/me', { headers: { cookie } });
    expect(read.status).toBe(200);
    expect(((await read.json()) as { user: { id: string } }).user.id).toBe('approver@example.com');

    const { id, result } = await holdPayment(300);
    const forged = await call('POST', `/v1/approvals/${id}/approve`, {
      headers: { cookie },
      body: { reason: 'csrf' },
    });
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { error: { code: string } }).error.code).toBe('csrf_failed');
    const wrong = await call('POST', `/v1/approvals/${id}/approve`, {
      headers: { cookie, 'x-csrf-token': `${csrfToken.slice(1)}x` },
      body: { reason: 'csrf' },
    });
    expect(wrong.status).toBe(403);
    expect((await oversight.getApproval(id))?.status).toBe('pending');
    const good = await call('POST', `/v1/approvals/${id}/approve`, {
      headers: { cookie, 'x-csrf-token': csrfToken },
      body: { reason: 'checked' },
    });
    expect(good.status).toBe(200);
    expect((await result).status).toBe('ok');
  });

  it('ends the session on logout', async () => {
    const { cookie, csrfToken } = await login(tokens.viewer);
    expect(
      (await call('POST', '/v1/logout', { headers: { cookie, 'x-csrf-token': csrfToken } })).status,
    ).toBe(204);
    expect((await call('GET', '/v1/me', { headers: { cookie } })).status).toBe(401);
  });

  it('expires idle sessions', () => {
    let now = 0;
    const sessions = new ConsoleSessions(1_000, () => now);
    const session = sessions.open('u', 'h');
    now = 999;
    expect(sessions.get(session.id)).toBeDefined();
    now = 1_999;
    expect(sessions.get(session.id)).toBeUndefined();
  });
});

describe('documents and headers', () => {
  it('serves a valid OpenAPI 3.1 document describing every route', async () => {
    const response = await call('GET', '/v1/openapi.json');
    expect(response.status).toBe(200);
    const document = (await response.json()) as { paths: Record<string, Record<string, unknown>> };
    const result = await new Validator().validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        '/v1/decide',
        '/v1/approvals',
        '/v1/approvals/{id}/approve',
        '/v1/sessions/{id}/timeline',
        '/v1/agents/{id}/credentials/revoke',
        '/v1/audit',
        '/v1/audit/verify',
        '/v1/policy',
      ]),
    );
  });

  it('sets a strict Content-Security-Policy and related headers on the console and the API', async () => {
    for (const path of ['/', '/v1/openapi.json', '/v1/approvals']) {
      const response = await call('GET', path);
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).not.toContain('unsafe-eval');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('reports the policy status and verifies the audit chain', async () => {
    const status = await call('GET', '/v1/policy', { token: tokens.viewer });
    expect(((await status.json()) as { hash: string }).hash).toBe(policy.hash);
    const verify = await call('POST', '/v1/audit/verify', { token: tokens.viewer });
    expect(verify.status).toBe(200);
    expect(((await verify.json()) as { ok: boolean }).ok).toBe(true);
  });
});
