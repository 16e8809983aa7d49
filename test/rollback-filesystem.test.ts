/**
 * @module test/rollback-filesystem.test
 * Issue 16, end to end through the real gateway and the real server-filesystem from npm: an agent
 * session writes, edits, moves and creates files; `reins rollback --session` (its own process, as an
 * admin) restores the directory byte for byte; `--to` stops at the right call; a later change to the
 * same file by another session is reported as a conflict and not overwritten; a second rollback
 * undoes nothing twice; a viewer may not roll back; every compensation is on record, linked to the
 * call it undoes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  callOk,
  type RollbackDeployment,
  snapshot,
  startRollbackDeployment,
} from './support/rollback-deployment.js';

let running: RollbackDeployment | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
});

interface AuditLine {
  kind: string;
  decisionId: string;
  sessionId?: string;
  action?: string;
  links?: { rel: string; id: string }[];
  compensates?: { decisionId: string };
  reversal?: { kind: string; captures?: { hash: string; view: string }[] };
  decision?: { effect: string };
  outcome?: string;
}

function records(deployment: RollbackDeployment, session: string): AuditLine[] {
  return deployment.records<AuditLine>(session);
}

/** A bad multi-step change: overwrite, edit, move, create (in a new folder), create a directory. */
async function badChange(agent: Client, work: string): Promise<string[]> {
  const steps: [string, Record<string, unknown>][] = [
    ['fs__write_file', { path: join(work, 'config.yaml'), content: 'replicas: 0\n' }],
    [
      'fs__edit_file',
      { path: join(work, 'README.md'), edits: [{ oldText: 'Stable release.', newText: 'Deprecated.' }] },
    ],
    ['fs__move_file', { source: join(work, 'notes.txt'), destination: join(work, 'old-notes.txt') }],
    ['fs__create_directory', { path: join(work, 'generated') }],
    ['fs__write_file', { path: join(work, 'generated/out.txt'), content: 'junk\n' }],
  ];
  for (const [tool, args] of steps) await callOk(agent, tool, args);
  return steps.map(([tool]) => tool);
}

function seed(work: string): void {
  writeFileSync(join(work, 'config.yaml'), 'replicas: 3\nregion: eu-west\n');
  writeFileSync(join(work, 'README.md'), '# Service\n\nStable release.\n');
  writeFileSync(join(work, 'notes.txt'), 'remember the milk\n');
}

describe('rollback through the real gateway and server-filesystem', () => {
  it('restores the directory byte for byte, records every compensation, and undoes nothing twice', async () => {
    running = await startRollbackDeployment();
    const { work } = running;
    seed(work);
    const before = snapshot(work);
    const agent = await running.connect('bad-run');
    await badChange(agent, work);
    expect(snapshot(work)).not.toEqual(before);

    const plan = running.rollback(['--session', 'bad-run', '--dry-run']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('undo');
    expect(snapshot(work)).not.toEqual(before); // a dry run changes nothing

    const run = running.rollback(['--session', 'bad-run', '--reason', 'the agent broke the config']);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(snapshot(work)).toEqual(before);

    // every compensation is in the rollback session, linked to the call it undoes, and on record
    const undone = records(running, 'bad-run').filter((record) => record.kind === 'call-intent');
    const compensations = records(running, 'reins.rollback/bad-run').filter(
      (record) => record.kind === 'call-intent',
    );
    expect(compensations.length).toBeGreaterThanOrEqual(5);
    for (const compensation of compensations) {
      expect(undone.map((call) => call.decisionId)).toContain(compensation.compensates?.decisionId);
      expect(compensation.links).toContainEqual({
        rel: 'input',
        id: `${compensation.compensates?.decisionId}/outcome`,
      });
    }
    // captures are in the intents as hashes, never as the content
    const write = undone.find((call) => call.reversal?.captures !== undefined);
    expect(write?.reversal?.captures?.[0]?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(undone)).not.toContain(Buffer.from('replicas: 3').toString('base64').slice(0, 12));
    const actions = running
      .reins('audit', 'query', '--kind', 'operator-action', '--format', 'json')
      .split('\n')
      .filter((line) => line.includes('session.rollback'));
    expect(actions.length).toBe(2); // started and done

    // again: nothing is undone twice, and the directory stays as it was
    const again = running.rollback(['--session', 'bad-run', '--reason', 'once more']);
    expect(again.code, again.stderr + again.stdout).toBe(0);
    expect(again.stdout).toMatch(/0 undone/);
    expect(snapshot(work)).toEqual(before);
    expect(
      records(running, 'reins.rollback/bad-run').filter((record) => record.kind === 'call-intent'),
    ).toHaveLength(compensations.length);
  }, 120_000);

  it('--to keeps the named call and undoes only what came after it', async () => {
    running = await startRollbackDeployment();
    const { work } = running;
    seed(work);
    const agent = await running.connect('partial');
    await callOk(agent, 'fs__write_file', { path: join(work, 'config.yaml'), content: 'replicas: 5\n' });
    const kept = snapshot(work);
    await callOk(agent, 'fs__write_file', { path: join(work, 'config.yaml'), content: 'replicas: 0\n' });
    await callOk(agent, 'fs__write_file', { path: join(work, 'extra.txt'), content: 'x\n' });
    const first = records(running, 'partial').find((record) => record.kind === 'call-intent');
    const run = running.rollback([
      '--session',
      'partial',
      '--to',
      first?.decisionId as string,
      '--reason',
      'keep the first',
    ]);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(snapshot(work)).toEqual(kept);
  }, 120_000);

  it('reports a later change by another session as a conflict and overwrites nothing', async () => {
    running = await startRollbackDeployment();
    const { work } = running;
    seed(work);
    const agent = await running.connect('first');
    await callOk(agent, 'fs__write_file', { path: join(work, 'config.yaml'), content: 'replicas: 0\n' });
    const other = await running.connect('second');
    await callOk(other, 'fs__write_file', { path: join(work, 'config.yaml'), content: 'replicas: 7\n' });
    const afterOther = snapshot(work);

    const run = running.rollback(['--session', 'first', '--reason', 'undo the first run']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('second');
    expect(run.stderr).toContain('config.yaml');
    expect(snapshot(work)).toEqual(afterOther);
    const dry = running.rollback(['--session', 'first', '--dry-run']);
    expect(dry.stdout).toContain('conflicts');
  }, 120_000);

  it('undoes the session of an agent that was suspended and whose session was killed', async () => {
    running = await startRollbackDeployment();
    const { work } = running;
    seed(work);
    const before = snapshot(work);
    const agent = await running.connect('rogue');
    await badChange(agent, work);
    running.reins('sessions', 'kill', 'rogue', '--reason', 'it went rogue');
    running.reins('agents', 'suspend', 'editor', '--reason', 'it went rogue');
    const run = running.rollback(['--session', 'rogue', '--reason', 'clean up after it']);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(snapshot(work)).toEqual(before);
  }, 120_000);

  it('refuses an operator without the role, before anything runs', async () => {
    running = await startRollbackDeployment();
    const { work } = running;
    seed(work);
    const agent = await running.connect('run');
    await callOk(agent, 'fs__write_file', { path: join(work, 'config.yaml'), content: 'replicas: 0\n' });
    const changed = snapshot(work);
    const run = running.rollback(['--session', 'run', '--reason', 'try'], 'viewer');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('role');
    expect(snapshot(work)).toEqual(changed);
  }, 120_000);
});
