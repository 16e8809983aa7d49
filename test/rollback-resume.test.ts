/**
 * @module test/rollback-resume.test
 * Issue 16: "a compensation that fails stops the rollback ...; running it again resumes, and never
 * undoes a call twice", for a compensation of several steps whose first step is not idempotent (a
 * follow-up action, like a compensating refund, then the state written back). Through a real
 * `reins gateway` and server-filesystem: the policy declares, for write_file, a compensation that
 * first books the undo in a ledger (an edit that adds a line each time it runs), then writes the
 * captured bytes back, and says it is not idempotent. The first rollback is stopped at step 2 by a
 * rule that refuses writes in rollbacks; once the rule is gone, the rollback is run again: it must
 * resume at step 2, not book the undo a second time.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { callOk, type RollbackDeployment, startRollbackDeployment } from './support/rollback-deployment.js';

let running: RollbackDeployment | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
});

const FROZEN = `  - id: frozen
    effect: deny
    reason: writes are frozen during the incident
    tool: { server: fs, name: write_file }
    when: has(context.rollback)
`;

function policy(frozen: boolean): string {
  return `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: ledger }
tools:
  - { server: fs, name: "read_*", risk: low, effects: [read] }
  - { server: fs, name: "list_*", risk: low, effects: [read] }
  - { server: fs, name: get_file_info, risk: low, effects: [read] }
  - server: fs
    name: write_file
    risk: medium
    effects: [write]
    reversal:
      capture:
        - { name: before, tool: read_text_file, args: { path: args.path } }
      compensate:
        # a follow-up action first (it adds a line each time it runs), then the old text back
        - tool: edit_file
          args:
            path: 'dirname(args.path) + "/ledger.txt"'
            edits: '[{"oldText": "END", "newText": "undone: " + basename(args.path) + "\\nEND"}]'
        - tool: write_file
          args: { path: args.path, content: 'captured.before.result.content[0].text' }
      idempotent: false
  - { server: fs, name: "*", risk: medium, effects: [write] }
rules:
  - { id: work, effect: allow, reason: the agent edits files, tool: { server: fs } }
${frozen ? FROZEN : ''}rollback:
  profiles:
    - { profile: server-filesystem, server: fs }
`;
}

interface Row {
  kind: string;
  decisionId: string;
  outcome?: string;
  compensates?: { decisionId: string; step: number };
}

/** Per compensation step (`<undone decision id>#<step>`), how many times it ended `ok`. */
function okSteps(deployment: RollbackDeployment, session: string): Map<string, number> {
  const rows = deployment
    .reins('audit', 'query', '--session', `reins.rollback/${session}`, '--limit', '10000', '--format', 'json')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const record = JSON.parse(line);
      return (record.event ?? record) as Row;
    });
  const ok = new Set(
    rows.filter((row) => row.kind === 'call-outcome' && row.outcome === 'ok').map((row) => row.decisionId),
  );
  const counts = new Map<string, number>();
  for (const row of rows) {
    if (row.kind !== 'call-intent' || row.compensates === undefined || !ok.has(row.decisionId)) continue;
    const key = `${row.compensates.decisionId}#${row.compensates.step}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

describe('a rollback run again after a failed step', () => {
  it('resumes at the step that failed and does not run the steps before it again', async () => {
    running = await startRollbackDeployment({ policy: policy(false) });
    const { work } = running;
    const config = join(work, 'config.yaml');
    const ledger = join(work, 'ledger.txt');
    writeFileSync(config, 'replicas: 3\n');
    writeFileSync(ledger, 'END\n');
    const agent = await running.connect('bad-run');
    await callOk(agent, 'fs__write_file', { path: config, content: 'replicas: 0\n' });

    writeFileSync(running.deployment.policy, policy(true));
    const first = running.rollback(['--session', 'bad-run', '--reason', 'undo the bad run']);
    expect(first.code).toBe(1);
    expect(first.stdout).toContain('step 2 (`write_file`) refused: writes are frozen during the incident');
    expect(readFileSync(ledger, 'utf8')).toBe('undone: config.yaml\nEND\n');
    expect(readFileSync(config, 'utf8')).toBe('replicas: 0\n');

    writeFileSync(running.deployment.policy, policy(false));
    const again = running.rollback(['--session', 'bad-run', '--reason', 'the freeze is over']);
    expect(again.code, again.stderr + again.stdout).toBe(0);
    expect(readFileSync(config, 'utf8')).toBe('replicas: 3\n');
    // the follow-up action was taken once, not once per run
    expect(readFileSync(ledger, 'utf8')).toBe('undone: config.yaml\nEND\n');
    for (const [step, count] of okSteps(running, 'bad-run')) expect(count, `step ${step}`).toBe(1);
  }, 90_000);
});
