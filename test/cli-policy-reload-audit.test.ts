/**
 * @module test/cli-policy-reload-audit.test
 * Policy reloads are audit events (issue 12): a running gateway whose policy file is rewritten records
 * the accepted version (`operator-action`, action `policy.reload`, with the hash in force before and
 * after) and a rejected one (`policy.reload-rejected`, with the diagnostic and the hash that stays in
 * force), by the actor `system`; the chain still verifies. The real HTTP gateway runs in this process;
 * the log is read back with the built CLI.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { OperatorActionEvent } from '../src/spec/audit-event.js';
import { createDeployment, type Deployment, MEMORY_POLICY, okIn } from './support/deployment-fixture.js';
import { type RunningGateway, startHttpGateway } from './support/http-gateway.js';

let deployment: Deployment;
let gateway: RunningGateway | undefined;

beforeAll(() => {
  deployment = createDeployment();
  okIn(deployment.directory, {}, 'keys', 'generate', '--config', deployment.config);
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  rmSync(deployment.directory, { recursive: true, force: true });
});

/** `reins audit <args>` on the deployment's store and checkpoint keys. */
function audit(...args: string[]): string {
  const store = ['--db', deployment.db, '--checkpoint-keys', deployment.checkpointKeys];
  return okIn(deployment.directory, {}, 'audit', ...args, ...store);
}

function reloads(): OperatorActionEvent[] {
  const lines = audit('query', '--kind', 'operator-action', '--format', 'json');
  return lines
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { event: OperatorActionEvent }).event)
    .filter((event) => event.action.startsWith('policy.'));
}

it('records accepted and rejected policy reloads of a running gateway, in a chain that verifies', async () => {
  gateway = await startHttpGateway(deployment.config);
  const log = gateway.log;
  writeFileSync(deployment.policy, MEMORY_POLICY.replace('notes are fine', 'notes are still fine'));
  await expect.poll(() => log.join('\n'), { timeout: 10_000 }).toMatch(/policy reloaded: (\S+)/);
  const newHash = (/policy reloaded: (\S+)/.exec(log.join('\n')) as RegExpExecArray)[1] as string;
  writeFileSync(deployment.policy, `${MEMORY_POLICY}  - { id: broken, effect: allow, colour: blue }\n`);
  await expect.poll(() => log.join('\n'), { timeout: 10_000 }).toMatch(/new policy rejected/);
  expect(await gateway.stop()).toBe(0);
  gateway = undefined;

  const [accepted, rejected, ...more] = reloads();
  expect(more).toEqual([]);
  expect(accepted).toMatchObject({
    action: 'policy.reload',
    actor: { id: 'system', roles: [] },
    target: { type: 'policy', id: deployment.policy },
  });
  expect(accepted?.reason).toContain(newHash);
  expect(rejected).toMatchObject({
    action: 'policy.reload-rejected',
    actor: { id: 'system', roles: [] },
    target: { type: 'policy', id: deployment.policy },
  });
  expect(rejected?.reason).toContain(`${newHash} stays in force`);
  expect(rejected?.reason).toMatch(new RegExp(`${deployment.policy}:\\d+:\\d+: .*colour`));

  const verified = audit('verify');
  expect(verified).toContain(`ok: ${deployment.db}`);
}, 60_000);
