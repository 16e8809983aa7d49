/**
 * @module test/rollback-crash.test
 * Issue 16, "kill -9 in the middle of a rollback, then the rollback again: the end state is correct and
 * nothing was undone twice", end to end: a real `reins gateway` in front of server-filesystem and
 * server-memory; three agent sessions, each with some forty reversible changes (files overwritten,
 * edited and created, folders created, notes created, changed and deleted); `reins rollback` of each
 * as a process of its own, killed with SIGKILL at a different point (early, halfway, near the end: as
 * soon as that many compensation steps are on record); a second run while the killed one's lease
 * holds is turned away ("try again shortly"); then each rollback again until it runs. The files must
 * be as they were before the sessions byte for byte, the notes as sets, and no compensation step may
 * have ended `ok` twice (counted from the audit log: `compensates.step` of the intents of session
 * `reins.rollback/<s>`, joined with their outcomes).
 *
 * The sessions touch disjoint files and notes so that their rollbacks do not conflict; the rollbacks
 * run one after the other (two server-memory processes writing one file at once would lose updates,
 * which is the server's limit, not Reins').
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { CliRun } from './support/deployment-fixture.js';
import {
  callOk,
  memoryFileGraph,
  type RollbackDeployment,
  snapshot,
  startRollbackDeployment,
} from './support/rollback-deployment.js';

let running: RollbackDeployment | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
});

const FILES = 12;
const DOCS = 4;
const CREATED = 5;

/** What a session `p` finds before it runs: its folder of files, and its notes. */
async function seed(deployment: RollbackDeployment, setup: Client, p: string): Promise<void> {
  const root = join(deployment.work, p);
  mkdirSync(root);
  for (let i = 0; i < FILES; i++) writeFileSync(join(root, `f${i}.txt`), `${p} file ${i}\n`.repeat(i + 1));
  for (let i = 0; i < DOCS; i++)
    writeFileSync(join(root, `doc${i}.md`), `# ${p} doc ${i}\n\nStatus: draft.\n`);
  await callOk(setup, 'memory__create_entities', {
    entities: [
      { name: `${p}-team`, entityType: 'team', observations: ['on call weekly', 'owns the pager'] },
      { name: `${p}-pager`, entityType: 'tool', observations: ['pagerduty'] },
      { name: `${p}-runbook`, entityType: 'doc', observations: ['step 1', 'step 2'] },
    ],
  });
  await callOk(setup, 'memory__create_relations', {
    relations: [
      { from: `${p}-team`, to: `${p}-pager`, relationType: 'uses' },
      { from: `${p}-runbook`, to: `${p}-pager`, relationType: 'describes' },
      { from: `${p}-team`, to: `${p}-runbook`, relationType: 'maintains' },
    ],
  });
}

/** About forty reversible changes by session `p`, in its own folder and notes. */
async function badRun(deployment: RollbackDeployment, agent: Client, p: string): Promise<void> {
  const root = join(deployment.work, p);
  for (let i = 0; i < FILES; i++)
    await callOk(agent, 'fs__write_file', { path: join(root, `f${i}.txt`), content: `overwritten ${i}\n` });
  for (let i = 0; i < DOCS; i++)
    await callOk(agent, 'fs__edit_file', {
      path: join(root, `doc${i}.md`),
      edits: [{ oldText: 'Status: draft.', newText: 'Status: deleted.' }],
    });
  for (let i = 0; i < CREATED; i++)
    await callOk(agent, 'fs__write_file', { path: join(root, `junk${i}.tmp`), content: 'junk\n' });
  await callOk(agent, 'fs__create_directory', { path: join(root, 'generated') });
  await callOk(agent, 'fs__write_file', { path: join(root, 'generated/out.txt'), content: 'out\n' });
  await callOk(agent, 'fs__create_directory', { path: join(root, 'cache') });
  for (let i = 0; i < 4; i++)
    await callOk(agent, 'memory__create_entities', {
      entities: [{ name: `${p}-bot${i}`, entityType: 'agent', observations: [`bot ${i}`] }],
    });
  await callOk(agent, 'memory__create_relations', {
    relations: [
      { from: `${p}-bot0`, to: `${p}-pager`, relationType: 'silences' },
      { from: `${p}-team`, to: `${p}-bot1`, relationType: 'owns' },
    ],
  });
  await callOk(agent, 'memory__add_observations', {
    observations: [{ entityName: `${p}-pager`, contents: ['deprecated', 'replaced by bots'] }],
  });
  await callOk(agent, 'memory__delete_observations', {
    deletions: [{ entityName: `${p}-runbook`, observations: ['step 1'] }],
  });
  await callOk(agent, 'memory__delete_relations', {
    relations: [{ from: `${p}-runbook`, to: `${p}-pager`, relationType: 'describes' }],
  });
  await callOk(agent, 'memory__delete_entities', { entityNames: [`${p}-team`] });
  for (let i = 0; i < 4; i++)
    await callOk(agent, 'fs__write_file', { path: join(root, `f${i}.txt`), content: `again ${i}\n` });
}

interface Row {
  kind: string;
  decisionId: string;
  outcome?: string;
  compensates?: { decisionId: string; step: number; steps: number; rollbackId: string };
}

function rowsOf(deployment: RollbackDeployment, session: string): Row[] {
  return deployment
    .reins('audit', 'query', '--session', session, '--limit', '100000', '--format', 'json')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const record = JSON.parse(line);
      return (record.event ?? record) as Row;
    });
}

/** Per compensation step (`<undone decision id>#<step>`), how many times it ended `ok`, over all rollbacks. */
function okSteps(deployment: RollbackDeployment, session: string): Map<string, number> {
  const rows = rowsOf(deployment, `reins.rollback/${session}`);
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

/** The number of compensation steps the plan of a rollback of `session` would run. */
function plannedSteps(deployment: RollbackDeployment, session: string): number {
  const plan = deployment.rollback(['--session', session, '--dry-run', '--format', 'json']);
  expect(plan.code, plan.stderr).toBe(0);
  const calls = (JSON.parse(plan.stdout) as { calls: { status: string; steps: unknown[] }[] }).calls;
  return calls.filter((call) => call.status === 'undo').reduce((sum, call) => sum + call.steps.length, 0);
}

/**
 * Starts `reins rollback` and kills it with SIGKILL once `after` compensation outcomes are in the log
 * (read straight from the SQLite file, so the kill lands close to that point). Returns what it wrote.
 */
async function killPartway(deployment: RollbackDeployment, session: string, after: number): Promise<string> {
  const db = new Database(deployment.deployment.db, { readonly: true, fileMustExist: true });
  const outcomes = db.prepare(
    "select count(*) as n from audit_events where session_id = ? and kind = 'call-outcome'",
  );
  try {
    const child = deployment.startRollback(['--session', session, '--reason', 'undo the bad run']);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { n } = outcomes.get(`reins.rollback/${session}`) as { n: number };
      if (n >= after) break;
      if (child.child.exitCode !== null) break; // ended before the kill point: nothing more to kill
      if (Date.now() > deadline)
        throw new Error(`no ${after} compensations within a minute: ${child.output().stderr}`);
      await sleep(5);
    }
    child.child.kill('SIGKILL');
    const ended = await child.exited;
    return `${ended.signal ?? ended.code} ${child.output().stdout}${child.output().stderr}`;
  } finally {
    db.close();
  }
}

const BUSY =
  /another rollback of this session is running \(or one stopped less than 30 s ago\): try again shortly/;

/** `reins rollback` again until the killed one's lease has lapsed (bounded). */
async function rollbackWhenFree(deployment: RollbackDeployment, session: string): Promise<CliRun> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const run = deployment.rollback([
      '--session',
      session,
      '--reason',
      'again, after the crash',
      '--format',
      'json',
    ]);
    if (run.code !== 1 || !BUSY.test(run.stderr) || Date.now() > deadline) return run;
    await sleep(2_000);
  }
}

describe('kill -9 in the middle of a rollback, then the rollback again', () => {
  it('restores every session exactly and undoes no step twice, whatever the kill point', async () => {
    running = await startRollbackDeployment();
    const deployment = running;
    const sessions = ['early', 'halfway', 'late'];
    const setup = await running.connect('setup');
    for (const p of sessions) await seed(deployment, setup, p);
    const files = snapshot(running.work);
    const notes = memoryFileGraph(running.memoryFile);
    for (const p of sessions) await badRun(deployment, await running.connect(p), p);
    expect(snapshot(running.work)).not.toEqual(files);
    expect(memoryFileGraph(running.memoryFile)).not.toEqual(notes);

    // one kill each, at a different point (by compensation steps on record)
    const killedAt = new Map<string, string>();
    for (const [index, p] of sessions.entries()) {
      const total = plannedSteps(deployment, p);
      expect(total).toBeGreaterThan(40);
      const point = [2, Math.floor(total / 2), total - 3][index] as number;
      killedAt.set(p, await killPartway(deployment, p, point));
      const done = okSteps(deployment, p);
      expect(done.size, `session ${p} killed at ${point}`).toBeGreaterThan(0);
      expect(done.size, `session ${p} killed at ${point}: it finished`).toBeLessThan(total);
    }
    // the lease of the last one killed is still held: a second run is turned away, changing nothing
    const late = sessions.at(-1) as string;
    const stepsBefore = okSteps(deployment, late);
    const turnedAway = running.rollback(['--session', late, '--reason', 'too soon']);
    expect(turnedAway.code).toBe(1);
    expect(turnedAway.stderr).toMatch(BUSY);
    expect(okSteps(deployment, late)).toEqual(stepsBefore);

    for (const p of sessions) {
      const again = await rollbackWhenFree(deployment, p);
      expect(again.code, `${p} (first run: ${killedAt.get(p)}): ${again.stderr}${again.stdout}`).toBe(0);
      const report = JSON.parse(again.stdout) as { complete: boolean; results: { status: string }[] };
      expect(report.complete).toBe(true);
      expect(report.results.filter((result) => result.status === 'undone').length).toBeGreaterThan(0);
      for (const [step, count] of okSteps(deployment, p))
        expect(count, `step ${step} of session ${p} ended ok ${count} times`).toBe(1);
    }
    expect(snapshot(running.work)).toEqual(files);
    expect(memoryFileGraph(running.memoryFile)).toEqual(notes);

    // and once more: nothing left to undo, nothing undone again
    const settled = running.rollback(['--session', 'halfway', '--reason', 'once more']);
    expect(settled.code, settled.stderr).toBe(0);
    expect(settled.stdout).toMatch(/0 undone/);
  }, 110_000);
});
