/**
 * @module test/security/refusal-records.test
 * Attacks on the audit trail of refusals, through `reins gateway` (in-process, Streamable HTTP) in front
 * of a scripted upstream:
 * - an unauthenticated caller sends forged credentials, each claiming whatever agent and session it
 *   likes: every refusal used to become one `credential-rejected` record, so the caller could flood the
 *   log (disk, verify time, noise that hides a real attack). Refusals are now recorded at most a bounded
 *   number of times per window, the rest counted into summary records: every refusal is still counted.
 * - an authenticated agent probes for tools that do not exist: the refusal never reached the pipeline
 *   and left no record. It is now recorded with the agent's verified identity.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentRegistry } from '../../src/auth/agent-registry.js';
import { Authenticator } from '../../src/auth/authenticator.js';
import { SqliteAuditLog } from '../../src/store/sqlite/sqlite-audit-log.js';
import { SqliteIdentityStore } from '../../src/store/sqlite/sqlite-identity-store.js';
import { eventually } from '../support/eventually.js';
import { connectHttp, type RunningGateway, startHttpGateway } from '../support/http-gateway.js';
import { credentialKeysBeside } from '../support/test-keys.js';

const ROOT = resolve(import.meta.dirname, '../..');
const FORGED = 250;

let directory: string;
let endpoint: string;
let token: string;
let gateway: RunningGateway;
let stopped: Promise<number> | undefined;

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-refusal-records-'));
  const tools = [{ name: 'lookup', description: 'Look up an order', inputSchema: { type: 'object' } }];
  writeFileSync(join(directory, 'phases.json'), JSON.stringify([tools]));
  writeFileSync(
    join(directory, 'policy.yaml'),
    `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: refusal-records }
tools:
  - { server: shop, name: "*", risk: low, effects: [read] }
rules:
  - { id: all, effect: allow, reason: everything is allowed here }
`,
  );
  writeFileSync(
    join(directory, 'reins.yaml'),
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: reins.db }
upstreams:
  - name: shop
    stdio:
      command: ${JSON.stringify(process.execPath)}
      args: ["--import", ${JSON.stringify(import.meta.resolve('tsx'))}, ${JSON.stringify(join(ROOT, 'test/support/scripted-tools-server.ts'))}]
      env: { SCRIPTED_TOOLS: ${JSON.stringify(join(directory, 'phases.json'))} }
listen: { host: 127.0.0.1, port: 0, path: /mcp }
`,
  );
  const identity = new SqliteIdentityStore({ path: join(directory, 'reins.db') });
  await new AgentRegistry(identity).create({
    id: 'prober',
    owner: 'ana@example.com',
    roles: [],
    scopes: ['*'],
  });
  const auth = await Authenticator.open({ store: identity, keys: credentialKeysBeside(directory) });
  token = (await auth.issue('prober', { sessionId: 'prober-session' })).token;
  auth.close();
  await identity.close();

  gateway = await startHttpGateway(join(directory, 'reins.yaml'));
  endpoint = gateway.endpoint;
}, 60_000);

afterAll(async () => {
  stopped ??= gateway.stop();
  await stopped;
});

/** A credential that decodes but does not verify: its claims are whatever the attacker wrote. */
function forged(claims: Record<string, string>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'EdDSA', typ: 'JWT', kid: 'forged' })}.${part(claims)}.${Buffer.from('nope').toString('base64url')}`;
}

async function records(audit: SqliteAuditLog, kind: 'tool-pinning' | 'credential-rejected') {
  return (await audit.query({ kind, limit: 1_000 })).map((record) => record.event);
}

describe('refusals in the audit log', () => {
  it('records a call to a tool that does not exist, with the verified identity of the agent', async () => {
    const client = await connectHttp(endpoint, token);
    try {
      for (const name of ['shop__delete_everything', 'nosuchserver__lookup', 'no-separator']) {
        const result = (await client.callTool({ name, arguments: {} })) as CallToolResult;
        expect(result.isError).toBe(true);
      }
    } finally {
      await client.close();
    }
    const audit = new SqliteAuditLog({ path: join(directory, 'reins.db') });
    try {
      const refusedUnknown = async () =>
        (await records(audit, 'tool-pinning')).filter(
          (event) =>
            event.kind === 'tool-pinning' && event.status === 'refused' && event.reason === 'unknown_tool',
        );
      // the gateway appends its records asynchronously
      await eventually(async () => expect(await refusedUnknown()).toHaveLength(3));
      for (const event of await refusedUnknown()) {
        expect(event).toMatchObject({ agentId: 'prober', sessionId: 'prober-session' });
      }
    } finally {
      await audit.close();
    }
  }, 60_000);

  it('bounds the records that forged credentials make the gateway write, and still counts every one', async () => {
    for (let index = 0; index < FORGED; index += 1) {
      // half claim the same victim, half a new identity each time (aggregating by claim alone is not enough)
      const claims =
        index % 2 === 0
          ? { sub: 'victim', sid: 'victim-session', jti: `j${index}` }
          : { sub: `noise-${index}`, sid: `s-${index}`, jti: `j${index}` };
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${forged(claims)}` },
        body: '{}',
      });
      expect(response.status).toBe(401);
    }
    // shutting down writes what was counted but not yet recorded
    stopped = gateway.stop();
    expect(await stopped).toBe(0);
    const audit = new SqliteAuditLog({ path: join(directory, 'reins.db') });
    const rejected = await records(audit, 'credential-rejected').finally(() => audit.close());
    expect(rejected.length).toBeLessThanOrEqual(110);
    const counted = rejected.reduce(
      (sum, event) => sum + (event.kind === 'credential-rejected' ? (event.repeated ?? 1) : 0),
      0,
    );
    expect(counted).toBe(FORGED);
    // the claims an attacker wrote are marked as claims, never as who acted
    for (const event of rejected) expect(event).not.toHaveProperty('agentId');
  });
});
