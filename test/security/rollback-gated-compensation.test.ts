/**
 * Attack (issue 16): docs/policy.md's own "what cannot be undone needs a human" rule
 * (`effect: approve`, `when: "!reversal.reversible"`) also holds the rollback's compensations. A
 * compensation is decided with the facts assumed when nothing is captured, so every `write_file`
 * that restores a file is `unavailable` ("its state cannot be captured where this tool runs") and is
 * held for approval. `reins rollback` then sits on each held step (up to the 15-minute approval expiry),
 * during the incident a rollback is for; nothing in the docs says to exempt `context.rollback`.
 * Fixed: a compensation is decided as reversible (it puts back what was).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REINS_BIN } from '../support/deployment-fixture.js';
import { callOk, type RollbackDeployment, startRollbackDeployment } from '../support/rollback-deployment.js';

const DOCUMENTED = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: rollback }
tools:
  - { server: fs, name: "read_*", risk: low, effects: [read] }
  - { server: fs, name: get_file_info, risk: low, effects: [read] }
  - { server: fs, name: "*", risk: medium, effects: [write] }
  - { server: memory, name: "*", risk: medium, effects: [write] }
rules:
  - { id: work, effect: allow, reason: the agent edits files and notes, tool: { server: [fs, memory] } }
  - id: gate-what-cannot-be-undone
    effect: approve
    reason: an action that cannot be undone needs a human
    tool: { effects: [write, external, irreversible] }
    when: "!reversal.reversible"
rollback:
  profiles:
    - { profile: server-filesystem, server: fs }
    - { profile: server-memory, server: memory }
`;

let running: RollbackDeployment | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
});

describe('the documented reversible-or-approved rule', () => {
  it('does not hold the compensations of a rollback for approval', async () => {
    running = await startRollbackDeployment({ policy: DOCUMENTED });
    const { work } = running;
    writeFileSync(join(work, 'config.yaml'), 'replicas: 3\n');
    const agent = await running.connect('run');
    // reversible: not held
    await callOk(agent, 'fs__write_file', { path: join(work, 'config.yaml'), content: 'replicas: 0\n' });

    const ops = running.reins('users', 'create', 'ops', '--role', 'admin').trim();
    const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^REINS_/.test(name)));
    const run = spawnSync(
      process.execPath,
      [
        REINS_BIN,
        'rollback',
        '--session',
        'run',
        '--reason',
        'incident',
        '--config',
        running.deployment.config,
      ],
      {
        cwd: running.deployment.directory,
        encoding: 'utf8',
        env: { ...clean, REINS_TOKEN: ops },
        timeout: 25_000,
      },
    );
    const held = running.reins('audit', 'query', '--session', 'reins.rollback/run', '--format', 'json');
    expect(run.status, `${run.signal ?? ''} ${run.stdout} ${run.stderr}\n${held}`).toBe(0);
    expect(readFileSync(join(work, 'config.yaml'), 'utf8')).toBe('replicas: 3\n');
  }, 60_000);
});
