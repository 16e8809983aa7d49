/**
 * Attack (issue 16): `Harness.compensate` returns `status: 'ok'` for a step whose tool answered with an
 * MCP error (`isError`: its outcome is recorded `error`), and rollback/rollback-run only checks
 * `status`. A compensation the upstream refused therefore counts as `undone`: the rollback goes on to
 * older calls as if the state were restored, records `session.rollback.done`, exits 0 and says
 * "done: N undone" — the opposite of "a compensation that fails stops the rollback and reports exactly
 * what was and was not undone".
 * Fixed: a step whose outcome is not `ok` (the tool answered with an error) fails the call and stops the rollback.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { callOk, type RollbackDeployment, startRollbackDeployment } from '../support/rollback-deployment.js';

let running: RollbackDeployment | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
});

describe('a compensation the upstream refuses', () => {
  it('stops the rollback and is reported as failed', async () => {
    running = await startRollbackDeployment();
    const { work } = running;
    writeFileSync(join(work, 'config.yaml'), 'replicas: 3\n');
    writeFileSync(join(work, 'notes.txt'), 'remember the milk\n');
    const agent = await running.connect('run');
    await callOk(agent, 'fs__write_file', { path: join(work, 'config.yaml'), content: 'replicas: 0\n' });
    await callOk(agent, 'fs__move_file', {
      source: join(work, 'notes.txt'),
      destination: join(work, 'old.txt'),
    });
    // meanwhile, outside Reins, the application writes a fresh notes.txt
    writeFileSync(join(work, 'notes.txt'), 'fresh notes\n');

    const run = running.rollback(['--session', 'run', '--reason', 'undo the agent']);
    // the move back cannot happen (its destination exists): the rollback must say so and stop there
    expect(existsSync(join(work, 'old.txt'))).toBe(true);
    expect(run.stdout).not.toMatch(/done: 2 undone/);
    expect(run.code, run.stdout).not.toBe(0);
    // and it did not go on to older calls as if the newer one were undone
    expect(readFileSync(join(work, 'config.yaml'), 'utf8')).toBe('replicas: 0\n');
  }, 60_000);
});
