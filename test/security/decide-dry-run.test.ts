/**
 * @module test/security/decide-dry-run.test
 * Issue 11, surface "`POST /v1/decide` answering differently from the gateway for the same call": the
 * endpoint evaluated the rules only, so a call whose arguments hold a secret, which the gateway blocks
 * (redaction policy `inputs: { secret: block }`), was reported as `allow`. It now screens the arguments
 * as the pipeline does, and labels every answer as a dry run (no history, no counters, nothing runs).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createControlApi, type PolicyStatusSource } from '../../src/api/control-api.js';
import { createUser } from '../../src/api/users.js';
import { AgentRegistry } from '../../src/auth/agent-registry.js';
import { Authenticator } from '../../src/auth/authenticator.js';
import { type OversightWiring, wireOversight } from '../../src/cli/oversight-wiring.js';
import { Harness } from '../../src/harness/harness.js';
import { ephemeralKeySource } from '../../src/identity/key-ring.js';
import { StoreOversight } from '../../src/oversight/store-oversight.js';
import { SqliteAuditLog } from '../../src/store/sqlite/sqlite-audit-log.js';
import { SqliteIdentityStore } from '../../src/store/sqlite/sqlite-identity-store.js';
import { SqliteUserStore } from '../../src/store/sqlite/sqlite-user-store.js';
import { policyFrom } from '../support/policy-fixtures.js';

const policy = policyFrom(
  `rules:
  - { id: writes, effect: allow, tool: { server: crm, name: db.execute }, reason: writes are fine }
redaction:
  inputs: { secret: block }
`,
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
const SECRET_ARGS = { text: 'deploy with AKIAIOSFODNN7EXAMPLE and wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
const TOOL = { server: 'crm', name: 'db.execute' };

let audit: SqliteAuditLog;
let identity: SqliteIdentityStore;
let users: SqliteUserStore;
let authenticator: Authenticator;
let wiring: OversightWiring;
let harness: Harness;
let app: ReturnType<typeof createControlApi>;
let agentToken: string;
let viewerToken: string;

beforeAll(async () => {
  audit = new SqliteAuditLog({ path: ':memory:' });
  identity = new SqliteIdentityStore({ path: ':memory:' });
  users = new SqliteUserStore({ path: ':memory:' });
  authenticator = await Authenticator.open({ store: identity, audit, keys: ephemeralKeySource() });
  await new AgentRegistry(identity).create({ id: 'writer', owner: 'wanda@example.com', scopes: ['crm/*'] });
  agentToken = (await authenticator.issue('writer')).token;
  viewerToken = (await createUser(users, { id: 'vic@example.com', roles: ['viewer'], by: 'test' })).token;
  wiring = await wireOversight({ db: ':memory:' }, { approvalTimeoutMs: 60_000, log: () => {} });
  const oversight = new StoreOversight({
    approvals: wiring.stores.approvals,
    sessions: wiring.stores.sessions,
    identities: identity,
    audit,
  });
  harness = new Harness({ policy: { current: policy }, audit, sessions: wiring.sessions });
  app = createControlApi({
    oversight,
    audit,
    users,
    identity,
    authenticator,
    policy: policySource,
    log: () => {},
  });
});

afterAll(async () => {
  await wiring.close();
  authenticator.close();
  await users.close();
  await identity.close();
  await audit.close();
});

async function decide(token: string, body: unknown) {
  const response = await app.request('/v1/decide', {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { effect: string; dryRun?: boolean; diagnostics: { code: string }[] };
}

describe('POST /v1/decide', () => {
  it('refuses what the pipeline refuses: arguments holding a secret the policy blocks', async () => {
    let ran = false;
    const result = await harness.call(
      {
        principal: { agentId: 'writer', owner: 'wanda@example.com' },
        sessionId: 's1',
        tool: TOOL,
        args: SECRET_ARGS,
      },
      async () => {
        ran = true;
        return 'written';
      },
    );
    expect(result.status).toBe('denied');
    expect(ran).toBe(false);

    const asAgent = await decide(agentToken, { tool: TOOL, args: SECRET_ARGS });
    expect(asAgent.effect).toBe('deny');
    expect(asAgent.diagnostics.map((diagnostic) => diagnostic.code)).toContain('sensitive_input');
    const asViewer = await decide(viewerToken, {
      principal: { agentId: 'writer', roles: [], delegatedBy: [] },
      tool: TOOL,
      args: SECRET_ARGS,
    });
    expect(asViewer.effect).toBe('deny');
  });

  it('labels every answer as a dry run', async () => {
    const answer = await decide(agentToken, { tool: TOOL, args: { text: 'call back on monday' } });
    expect(answer).toMatchObject({ effect: 'allow', dryRun: true });
  });
});
