/**
 * @module test/security/scope-whitespace.test
 * Issue 11, finding "a scope containing whitespace widens a credential": `crm/select *` passed the
 * prefix check against a mission of `crm/*`, was joined into the space-separated `scope` claim and
 * split back into `crm/select` and `*`: a credential for everything. Scopes are parsed strictly at
 * every entry (library, CLI, delegation, agent records, token verification); end to end, such a
 * credential is neither issued nor accepted by the gateway.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentRegistry } from '../../src/auth/agent-registry.js';
import { Authenticator } from '../../src/auth/authenticator.js';
import { planDelegation } from '../../src/identity/delegation.js';
import { CredentialError } from '../../src/identity/tokens.js';
import { CREDENTIAL_TYPE } from '../../src/spec/credential-claims.js';
import { SqliteIdentityStore } from '../../src/store/sqlite/sqlite-identity-store.js';
import { connectHttp, type RunningGateway, startHttpGateway, textOf } from '../support/http-gateway.js';
import { credentialKeysBeside, signingKeyOf } from '../support/test-keys.js';

const ROOT = resolve(import.meta.dirname, '../..');
const WIDENING = ['crm/select *', 'crm/select\t*', 'crm/select\n*', ' crm/select', 'crm/select\u00a0*', ''];

let directory: string;
let identity: SqliteIdentityStore;
let auth: Authenticator;
let gateway: RunningGateway;

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-scope-whitespace-'));
  writeFileSync(
    join(directory, 'policy.yaml'),
    `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: scope-whitespace }
tools:
  - { server: crm, name: "*", risk: low, effects: [read] }
rules:
  - { id: crm, effect: allow, tool: { server: crm }, reason: the credential scope decides }
`,
  );
  writeFileSync(
    join(directory, 'reins.yaml'),
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: reins.db }
lock: reins.lock
upstreams:
  - name: crm
    stdio: { command: ${JSON.stringify(process.execPath)}, args: ["--import", "tsx", ${JSON.stringify(join(ROOT, 'test/support/env-server.ts'))}], cwd: ${JSON.stringify(ROOT)} }
listen: { host: 127.0.0.1, port: 0, path: /mcp }
`,
  );
  identity = new SqliteIdentityStore({ path: join(directory, 'reins.db') });
  await new AgentRegistry(identity).create({ id: 'analyst', owner: 'ana@example.com', scopes: ['crm/*'] });
  auth = await Authenticator.open({ store: identity, keys: credentialKeysBeside(directory) });
  gateway = await startHttpGateway(join(directory, 'reins.yaml'));
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  auth?.close();
  await identity?.close();
});

/** A credential signed with the store's own key, carrying whatever scope claim it is given. */
async function mintWithScopeClaim(scope: string): Promise<string> {
  const key = signingKeyOf(directory);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sid: 'forged-scope', scope, dpt: 0, anc: [] })
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: CREDENTIAL_TYPE })
    .setIssuer('reins')
    .setAudience('reins')
    .setSubject('analyst')
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + 300)
    .sign(key.privateKey);
}

describe('scopes with whitespace', () => {
  it('are refused by Authenticator.issue: no widened credential is issued', async () => {
    for (const scope of WIDENING) {
      const outcome = await auth.issue('analyst', { scopes: [scope] }).catch((error: unknown) => error);
      expect(outcome, JSON.stringify(scope)).toBeInstanceOf(CredentialError);
    }
  });

  it('are refused by delegation (library and planning)', async () => {
    await new AgentRegistry(identity).create({ id: 'helper', owner: 'ana@example.com', scopes: ['crm/*'] });
    const parent = await auth.issue('analyst', { scopes: ['crm/*'] });
    for (const scope of WIDENING) {
      const outcome = await auth
        .delegate(parent.token, { agentId: 'helper', task: 'look', scopes: [scope] })
        .catch((error: unknown) => error);
      expect(outcome, JSON.stringify(scope)).toBeInstanceOf(CredentialError);
    }
    // a parent whose claim does not parse strictly delegates nothing (`a b` is two scopes, `a  b` is malformed)
    const helper = await identity.getAgent('helper');
    expect(() =>
      planDelegation(
        { ...parent.claims, scope: 'crm/select  *' },
        { agent: helper as NonNullable<typeof helper>, task: 'look' },
        parent.claims.iat,
      ),
    ).toThrow(CredentialError);
  });

  it('are refused in agent records, by the registry and by the store itself', async () => {
    const registry = new AgentRegistry(identity);
    await expect(
      registry.create({ id: 'wide', owner: 'ana@example.com', scopes: ['crm/select *'] }),
    ).rejects.toThrow(/invalid scope/);
    const now = new Date().toISOString();
    await expect(
      identity.createAgent({
        v: 1,
        id: 'wide-direct',
        owner: 'ana@example.com',
        description: '',
        scopes: ['crm/select *'],
        roles: [],
        riskTier: 'low',
        state: 'active',
        createdAt: now,
        updatedAt: now,
      }),
    ).rejects.toThrow(/scope/);
  });

  it('are refused by `reins agents token` with a clear error', () => {
    const db = join(directory, 'cli.db');
    credentialKeysBeside(directory); // the deployment's key directory, created as its gateway would
    const keys = ['--credential-keys', join(directory, '.reins-keys', 'credentials')];
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [join(ROOT, 'bin/reins.js'), ...args, '--db', db], {
        encoding: 'utf8',
        env: { ...process.env, REINS_DATABASE_URL: '' },
      });
    expect(
      run('agents', 'create', 'cli-analyst', '--owner', 'ana@example.com', '--scopes', 'crm/*').status,
    ).toBe(0);
    const token = run('agents', 'token', 'cli-analyst', '--scopes', 'crm/select *', ...keys);
    expect(token.status).not.toBe(0);
    expect(token.stdout).toBe('');
    expect(token.stderr).toMatch(/invalid scope `crm\/select \*`/);
  });

  it('in a credential scope claim that does not parse strictly make the gateway refuse it', async () => {
    const narrow = await auth.issue('analyst', { scopes: ['crm/select'] });
    const client = await connectHttp(gateway.endpoint, narrow.token);
    expect(textOf(await client.callTool({ name: 'crm__select', arguments: {} }))).toBe('selected');
    const outside = await client.callTool({ name: 'crm__drop', arguments: {} });
    expect(outside.isError).toBe(true);
    expect(textOf(outside)).not.toContain('dropped');
    await client.close();

    // `crm/select *` in a signed claim is two scopes, indistinguishable from an honest credential for
    // both: only the issuer can refuse it (above). What verification refuses is a claim that is not
    // valid scopes joined by single spaces, whoever signed it.
    const forged = await mintWithScopeClaim('crm/select\t*');
    const refused = await fetch(gateway.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${forged}`,
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
      }),
    });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: 'malformed' });
  });
});
