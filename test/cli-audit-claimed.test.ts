/**
 * @module test/cli-audit-claimed.test
 * A refused credential names only who it *claimed* to be (issue 12): `reins audit query` listed a
 * forged token's claimed agent in the agent column as if it were the agent that acted. It is now
 * labelled `claimed:<id>`. End to end: a token signed with a key of the attacker's own is sent to the
 * real HTTP gateway (in this process); the log is read back with the built CLI.
 */
import { generateKeyPairSync } from 'node:crypto';
import { rmSync } from 'node:fs';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDeployment, type Deployment, okIn } from './support/deployment-fixture.js';
import { startHttpGateway } from './support/http-gateway.js';

let deployment: Deployment;

beforeAll(() => {
  deployment = createDeployment();
  okIn(deployment.directory, {}, 'keys', 'generate', '--config', deployment.config);
  okIn(
    deployment.directory,
    {},
    'agents',
    'create',
    'bot',
    '--owner',
    'olivia',
    '--scopes',
    'memory/*',
    '--db',
    deployment.db,
  );
}, 60_000);

afterAll(() => rmSync(deployment.directory, { recursive: true, force: true }));

it('labels the agent of a refused credential as claimed, not as the agent that acted', async () => {
  const gateway = await startHttpGateway(deployment.config);
  try {
    const { privateKey } = generateKeyPairSync('ed25519');
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ sid: 'forged-session', scope: 'memory/*' })
      .setProtectedHeader({ alg: 'EdDSA', kid: 'not-a-reins-key', typ: 'JWT' })
      .setSubject('bot')
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(privateKey);
    const response = await fetch(gateway.endpoint, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${forged}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'forger', version: '1' },
        },
      }),
    });
    expect(response.status).toBe(401);
  } finally {
    expect(await gateway.stop()).toBe(0);
  }

  const table = okIn(
    deployment.directory,
    {},
    'audit',
    'query',
    '--kind',
    'credential-rejected',
    '--db',
    deployment.db,
  );
  const row = table.split('\n').find((line) => line.includes('credential-rejected')) ?? '';
  expect(row).toContain('claimed:bot');
  expect(row).toContain('claimed:forged-session');
  expect(row).not.toMatch(/ bot /);
  // JSON keeps the record as it is: the field already says `claimedAgentId`
  const json = okIn(
    deployment.directory,
    {},
    'audit',
    'query',
    '--kind',
    'credential-rejected',
    '--format',
    'json',
    '--db',
    deployment.db,
  );
  expect(JSON.parse(json.split('\n')[0] ?? '{}').event.claimedAgentId).toBe('bot');
}, 60_000);
