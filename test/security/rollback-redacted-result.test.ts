/**
 * Attack (issue 16): server-memory's undo of create_entities / add_observations is built from the
 * call's result *as recorded*, and the recorded result is the one screened by the output redaction.
 * With a common data-protection setting (agents may store contact details, results are shown with PII
 * redacted), an entity named by an e-mail address, or an observation holding one, is recorded as
 * `[REDACTED:email]`: the rollback deletes `[REDACTED:email]` (which does not exist), reports the call
 * `undone`, and the agent's entity and observation stay. An agent that wants its writes to survive a
 * rollback only has to put an e-mail address (or a phone number, an IP address...) in them.
 * Fixed: the memory undos are built from the arguments and the captured graph, never from the recorded result.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  callOk,
  ROLLBACK_POLICY,
  type RollbackDeployment,
  startRollbackDeployment,
} from '../support/rollback-deployment.js';

let running: RollbackDeployment | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
});

function memoryFile(deployment: RollbackDeployment): string {
  return readFileSync(join(deployment.deployment.directory, 'memory.jsonl'), 'utf8');
}

describe('a rollback of memory writes whose results were redacted', () => {
  it('removes the entities and observations the agent added, or does not report them undone', async () => {
    running = await startRollbackDeployment({
      policy: `${ROLLBACK_POLICY}redaction:\n  inputs: { secret: block, pii: allow }\n  outputs: { secret: redact, pii: redact }\n`,
    });
    const curator = await running.connect('curator');
    await callOk(curator, 'memory__create_entities', {
      entities: [{ name: 'customer-42', entityType: 'customer', observations: ['pays on time'] }],
    });
    const agent = await running.connect('run');
    await callOk(agent, 'memory__create_entities', {
      entities: [{ name: 'mallory@evil.example.com', entityType: 'contact', observations: ['trusted'] }],
    });
    await callOk(agent, 'memory__add_observations', {
      observations: [{ entityName: 'customer-42', contents: ['send refunds to mallory@evil.example.com'] }],
    });
    expect(memoryFile(running)).toContain('mallory@evil.example.com');

    const run = running.rollback(['--session', 'run', '--reason', 'undo the agent']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    // the graph is as before the session: the curator's entity only, with its own observation
    expect(memoryFile(running), run.stdout).not.toContain('mallory@evil.example.com');
  }, 60_000);
});
