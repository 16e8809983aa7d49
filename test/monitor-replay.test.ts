/**
 * @module test/monitor-replay.test
 * Issue 19's first acceptance point with the built CLI: `reins replay` of the recorded sessions in
 * examples/monitor (a CRM assistant; one ordinary session, one bulk export: fifty contacts read, then
 * mail to each) with the example's policy and its `monitor:` section. The burst pauses its session at
 * the send that crosses the bound; the pause is on record with its evidence (the finding in the call's
 * intent, naming the calls it counted; the `session.pause` of `reins:monitor`); every later call of the
 * session is refused; the ordinary session raises nothing.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallIntentEvent, OperatorActionEvent } from '../src/spec/audit-event.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';

const ROOT = resolve(import.meta.dirname, '..');
const EXAMPLE = join(ROOT, 'examples/monitor');

let dir: string;
let stderr: string;
let status: number | null;
let intents: CallIntentEvent[];
let actions: OperatorActionEvent[];
let decisions: { trace: string; index: number; decision: string; reasons?: string[] }[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'reins-monitor-replay-'));
  const db = join(dir, 'replay.db');
  const out = join(dir, 'decisions.jsonl');
  const result = spawnSync(
    process.execPath,
    [
      join(ROOT, 'bin/reins.js'),
      'replay',
      '--format',
      'openai',
      '--policy',
      EXAMPLE,
      join(EXAMPLE, 'sessions'),
      '--out',
      out,
      '--db',
      db,
      '--explain',
    ],
    { cwd: dir, encoding: 'utf8', env: { ...process.env, REINS_DATABASE_URL: '' } },
  );
  status = result.status;
  stderr = result.stderr;
  decisions = readFileSync(out, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  const log = new SqliteAuditLog({ path: db, readOnly: true });
  try {
    intents = (await log.query({ kind: 'call-intent', limit: 1_000 })).map(
      (record) => record.event as CallIntentEvent,
    );
    actions = (await log.query({ kind: 'operator-action' })).map(
      (record) => record.event as OperatorActionEvent,
    );
    const verified = await log.verify();
    expect(verified.ok).toBe(true);
  } finally {
    await log.close();
  }
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('reins replay of a bulk export', () => {
  it('pauses the burst at the send that crosses the bound, and refuses the rest of the session', () => {
    expect(status, stderr).toBe(0);
    const burst = decisions.filter((line) => line.trace === 'burst.json');
    // 1 search, 50 reads, 15 sends: the eleventh send in five minutes crosses `above: 10`
    expect(burst).toHaveLength(66);
    expect(burst.slice(0, 61).every((line) => line.decision === 'allow')).toBe(true);
    expect(burst.slice(61).map((line) => line.decision)).toEqual(['deny', 'deny', 'deny', 'deny', 'deny']);
    expect(burst[61]?.reasons?.[0]).toContain('11 calls in 5m, above 10');
    expect(burst[62]?.reasons?.[0]).toContain('an operator must resume it');
    expect(stderr).toContain(
      'monitor: 2 finding(s) in 1 session(s), 1 stopped; bulk-read 1, external-burst 1',
    );
  });

  it('puts the pause on record with its evidence', () => {
    const burst = intents.filter((intent) => intent.sessionId === 'replay:burst.json');
    const sends = burst.filter((intent) => intent.tool.name === 'send_email');
    const crossing = sends[10] as CallIntentEvent;
    expect(crossing.decision).toMatchObject({ effect: 'deny', decidedBy: ['external-burst'] });
    expect(crossing.monitor).toEqual([
      expect.objectContaining({
        rule: 'external-burst',
        signal: 'rate',
        action: 'pause',
        observed: 11,
        threshold: 10,
        windowMs: 300_000,
        // the eleven sends it counted, the crossing one last
        records: sends.slice(0, 11).map((intent) => intent.decisionId),
      }),
    ]);
    // the bulk read before it was an alert: it let the reads go on
    const reads = burst.filter((intent) => intent.tool.name === 'read_contact');
    expect(
      reads.flatMap((intent) => intent.monitor ?? []).map((finding) => [finding.rule, finding.action]),
    ).toEqual([['bulk-read', 'alert']]);
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({
      action: 'session.pause',
      actor: { id: 'reins:monitor' },
      sessionId: 'replay:burst.json',
      target: { type: 'session', id: 'replay:burst.json' },
    });
    expect(actions[0]?.reason).toContain(`external-burst at call ${crossing.decisionId}`);
  });

  it('raises nothing on the ordinary session', () => {
    const ordinary = intents.filter((intent) => intent.sessionId === 'replay:ordinary.json');
    expect(ordinary).toHaveLength(3);
    expect(
      ordinary.every((intent) => intent.monitor === undefined && intent.decision.effect === 'allow'),
    ).toBe(true);
  });
});
