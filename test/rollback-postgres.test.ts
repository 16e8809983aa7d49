/**
 * @module test/rollback-postgres.test
 * Issue 16 on the shared store: a deployment on a real PostgreSQL server (captured state in
 * `audit_captures`, the rollback lease in the counter store). An agent's session is rolled back byte
 * for byte; two operators start `reins rollback` of the same session at the same moment, from two
 * processes: one runs, the other is turned away (or finds everything undone), and no step runs twice.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/postgres-database.js';
import {
  callOk,
  type RollbackDeployment,
  snapshot,
  startRollbackDeployment,
} from './support/rollback-deployment.js';

let running: RollbackDeployment | undefined;
let database: TestDatabase | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
  await database?.drop();
  database = undefined;
});

interface Intent {
  kind: string;
  compensates?: { decisionId: string; step: number };
}

describe('rollback on PostgreSQL', () => {
  it('restores the session once, whichever of two concurrent rollbacks runs it', async () => {
    database = await createTestDatabase('reins_rollback');
    running = await startRollbackDeployment({ databaseUrl: database.url });
    const { work } = running;
    writeFileSync(join(work, 'config.yaml'), 'replicas: 3\n');
    writeFileSync(join(work, 'README.md'), '# Service\n\nStable release.\n');
    const before = snapshot(work);
    const agent = await running.connect('pg-run');
    await callOk(agent, 'fs__write_file', { path: join(work, 'config.yaml'), content: 'replicas: 0\n' });
    await callOk(agent, 'fs__edit_file', {
      path: join(work, 'README.md'),
      edits: [{ oldText: 'Stable release.', newText: 'Deprecated.' }],
    });
    await callOk(agent, 'fs__write_file', { path: join(work, 'junk.txt'), content: 'junk\n' });
    await callOk(agent, 'memory__create_entities', {
      entities: [{ name: 'Ann', entityType: 'person', observations: ['likes tea'] }],
    });

    const first = running.startRollback(['--session', 'pg-run', '--reason', 'operator one']);
    const second = running.startRollback(['--session', 'pg-run', '--reason', 'operator two']);
    const ends = await Promise.all([first.exited, second.exited]);
    const outputs = [first.output(), second.output()];
    const described = outputs.map((output) => output.stdout + output.stderr).join('\n---\n');
    // one of them ran it all; the other was turned away by the lease, or found it all undone
    expect(ends.filter((end) => end.code === 0).length, described).toBeGreaterThanOrEqual(1);
    for (const [index, end] of ends.entries())
      if (end.code !== 0) expect(outputs[index]?.stderr, described).toContain('another rollback');
    expect(snapshot(work)).toEqual(before);

    // every step of every compensation ran once
    const steps = running
      .records<Intent>('reins.rollback/pg-run', 'call-intent')
      .map((intent) => `${intent.compensates?.decisionId}#${intent.compensates?.step}`);
    expect(steps.length).toBeGreaterThanOrEqual(4);
    expect(new Set(steps).size).toBe(steps.length);
    const verify = running.reins('audit', 'verify');
    expect(verify).toMatch(/ok|verified/i);
  }, 120_000);
});
