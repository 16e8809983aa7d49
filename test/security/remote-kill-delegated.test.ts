/**
 * Attack (issue 15 review): killing the delegating session. Decision 0020 puts a delegated session
 * "inside the delegating session" (`<parent>/<task>`) and lets its decisions see the parent's data
 * flow; an operator who kills the orchestrator's runaway session expects its subagents to stop too.
 * Here a subagent holding a credential delegated from the killed session keeps opening and completing
 * calls over the remote protocol.
 *
 * Fixed: a session's status is the worst of its own and those of the sessions it was delegated from,
 * in every decision (MCP and remote alike) and for every open call.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteGovernor } from '../../src/adapters/remote-governor.js';
import { type RemoteDeployment, startRemoteDeployment } from '../support/remote-deployment.js';

const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: remote-tools }
tools:
  - { server: app, name: lookup, risk: low, effects: [read] }
rules:
  - { id: reads, effect: allow, tool: { server: app, name: lookup }, reason: reads are fine }
`;

let remote: RemoteDeployment;

beforeAll(async () => {
  remote = await startRemoteDeployment({ policy: POLICY });
}, 60_000);

afterAll(async () => {
  await remote?.close();
});

describe('a killed session and the sessions delegated from it', () => {
  it('stops the subagent too', async () => {
    remote.reins('agents', 'create', 'helper', '--owner', 'olivia', '--scopes', 'app/*');
    const parentFile = join(remote.deployment.directory, 'parent.token');
    writeFileSync(parentFile, remote.token);
    const child = remote
      .reins('agents', 'delegate', 'helper', '--from', parentFile, '--task', 'lookups')
      .trim();
    const claims = JSON.parse(Buffer.from(child.split('.')[1] as string, 'base64url').toString());
    expect(claims.sid).toBe(`${remote.session}/lookups`);
    const orchestrator = new RemoteGovernor({ url: remote.url, token: remote.token });
    const subagent = new RemoteGovernor({ url: remote.url, token: child });
    expect((await orchestrator.open({ tool: 'app/lookup', args: { q: 'parent' } })).status).toBe('ready');
    const running = await subagent.open({ tool: 'app/lookup', args: { q: 'before' } });
    expect(running.status).toBe('ready');

    remote.reins('sessions', 'kill', remote.session, '--reason', 'runaway orchestrator');
    await new Promise((resolve) => setTimeout(resolve, 500));

    // the orchestrator's own session is stopped (holds)
    expect((await orchestrator.open({ tool: 'app/lookup', args: { q: 'parent again' } })).status).toBe(
      'denied',
    );
    // ... the session delegated from it is not
    const after = await subagent.open({ tool: 'app/lookup', args: { q: 'after the kill' } });
    const late = await subagent
      .complete(running.id, { ok: true, result: 'ran after the kill' })
      .catch((error: unknown) => error);
    expect({ opened: after.status, completed: (late as { status?: unknown }).status }).toEqual({
      opened: 'denied',
      completed: 409,
    });
  }, 60_000);
});
