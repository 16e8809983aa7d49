/**
 * @module test/causal-durability.test
 * Decision 0028: with `causal` durability a call's result is released once its outcome is written,
 * before it is fsync'd; the outcome is made durable within a bound, and before anything that may
 * depend on it takes effect: no decision of the session — in this process or another on the same file
 * — takes effect (its intent durable, its tool run) before the previous outcome is durable. The logs
 * here leave outcomes unsynced for up to 50 ms (the bound), so a decision that took effect without
 * covering the outcome would be caught in that window.
 */
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyAudit } from '../src/cli/audit-commands.js';
import { Harness } from '../src/harness/harness.js';
import type { PreparedPolicy } from '../src/policy/prepared-policy.js';
import type { AuditEventV1 } from '../src/spec/audit-event.js';
import type { AuditLog } from '../src/store/audit-log.js';
import { SqliteAuditLog, type SqliteAuditLogOptions } from '../src/store/sqlite/sqlite-audit-log.js';
import { policyFrom } from './support/policy-fixtures.js';

const CATALOGUE = `
tools:
  - { server: files, name: read, risk: low, effects: [read], untrustedOutput: true }
  - { server: bank, name: send_money, risk: high, effects: [write, external], sink: { args: [recipient] } }
`;
const ALLOW_ALL = policyFrom('rules:\n  - { id: all, effect: allow, reason: allowed }\n', {
  catalogue: CATALOGUE,
});
// a flows rule makes every decision read the session's records (history, data flow)
const READS_SESSION = policyFrom(
  `
rules:
  - { id: all, effect: allow, reason: allowed }
flows:
  - id: payee-provenance
    tool: { name: send_money }
    reason: the payee comes from text others wrote
`,
  { catalogue: CATALOGUE },
);
const principal = { agentId: 'assistant' };
const read = (sessionId: string) => ({
  principal,
  sessionId,
  tool: { server: 'files', name: 'read' },
  args: { path: 'a.txt' },
});
const returns = (output: unknown) => async () => output;

const directories: string[] = [];
const logs: SqliteAuditLog[] = [];
afterEach(async () => {
  for (const log of logs.splice(0)) await log.close();
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function openLog(path: string, options: Partial<SqliteAuditLogOptions> = {}): SqliteAuditLog {
  const log = new SqliteAuditLog({ path, syncWithinMs: 50, ...options });
  logs.push(log);
  return log;
}

function tempFile(): string {
  const directory = mkdtempSync(join(tmpdir(), 'reins-causal-'));
  directories.push(directory);
  return join(directory, 'audit.db');
}

/** The log, with the seq of every outcome appended through it. */
function watched(log: SqliteAuditLog): { audit: AuditLog; outcomes: Map<string, number> } {
  const outcomes = new Map<string, number>();
  const audit: AuditLog = Object.create(log, {
    append: {
      value: async (event: AuditEventV1, options?: Parameters<AuditLog['append']>[1]) => {
        const receipt = await log.append(event, options);
        if (event.kind === 'call-outcome') outcomes.set(event.decisionId, receipt.seq);
        return receipt;
      },
    },
  });
  return { audit, outcomes };
}

/** A tool that notes how far `log` was durable when it ran (when its call's decision took effect). */
function noting(log: SqliteAuditLog, seen: number[]) {
  return async () => {
    seen.push(log.durableThrough ?? -1);
    return 'ran';
  };
}

describe('causal durability of outcomes (decision 0028)', () => {
  it('releases a result before its outcome is fsync-ed, and makes it durable within the bound', async () => {
    const log = openLog(tempFile());
    const { audit, outcomes } = watched(log);
    const harness = new Harness({ policy: { current: ALLOW_ALL }, audit });
    const result = await harness.call(read('s1'), returns('one'));
    const seq = outcomes.get(result.decisionId) as number;
    expect(seq).toBeGreaterThan(0);
    // the result is out; its outcome is committed (every reader sees it) but not yet known durable
    expect(log.durableThrough).toBeLessThan(seq);
    expect((await log.query({ decisionId: result.decisionId, sessionId: 's1' })).length).toBe(2);
    // the bound: durable without anything asking for it
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(log.durableThrough).toBeGreaterThanOrEqual(seq);
  });

  it('keeps the intent durable before the tool runs', async () => {
    const log = openLog(tempFile());
    const harness = new Harness({ policy: { current: ALLOW_ALL }, audit: log });
    let durableWhenRun = -1;
    const result = await harness.call(read('s1'), async () => {
      durableWhenRun = log.durableThrough ?? -1;
      return 'ran';
    });
    const [intent] = await log.query({ decisionId: result.decisionId, sessionId: 's1', kind: 'call-intent' });
    expect(durableWhenRun).toBeGreaterThanOrEqual(intent?.seq as number);
  });

  it.each([
    ['a policy that reads the session', READS_SESSION],
    ['a policy that does not', ALLOW_ALL],
  ] as const)(
    'no decision of the session takes effect before its previous outcome is durable (one process, %s)',
    async (_label, policy: PreparedPolicy) => {
      const log = openLog(tempFile());
      const { audit, outcomes } = watched(log);
      const harness = new Harness({ policy: { current: policy }, audit });
      const first = await harness.call(read('s1'), returns('one'));
      const outcomeSeq = outcomes.get(first.decisionId) as number;
      // released before its fsync (the bound is 50 ms here)...
      expect(log.durableThrough).toBeLessThan(outcomeSeq);
      const seen: number[] = [];
      const second = await harness.call(read('s1'), noting(log, seen));
      expect(second.status).toBe('ok');
      // ...and durable before the next decision took effect: its intent's fsync covered it
      expect(seen[0]).toBeGreaterThanOrEqual(outcomeSeq);
    },
  );

  it('no decision of the session in another process on the file takes effect before the outcome it read is durable', async () => {
    const path = tempFile();
    const writer = watched(openLog(path));
    const readerLog = openLog(path);
    const first = new Harness({ policy: { current: READS_SESSION }, audit: writer.audit });
    const second = new Harness({ policy: { current: READS_SESSION }, audit: readerLog });
    const one = await first.call(read('s1'), returns('one'));
    const outcomeSeq = writer.outcomes.get(one.decisionId) as number;
    const seen: number[] = [];
    const two = await second.call(read('s1'), noting(readerLog, seen));
    expect(two.status).toBe('ok');
    // the second process read the outcome (its session's history) and recorded its intent after it:
    // its fsync of the shared file made the other process's outcome durable before the tool ran
    expect(seen[0]).toBeGreaterThanOrEqual(outcomeSeq);
  });

  it('with `full` durability the outcome is durable before the result is released', async () => {
    const log = openLog(tempFile(), { durability: 'full', syncWithinMs: 0 });
    const harness = new Harness({ policy: { current: ALLOW_ALL }, audit: log });
    const result = await harness.call(read('s1'), returns('one'));
    expect(result.status).toBe('ok');
    // every commit is fsync'd by SQLite itself: the log never answers before
    expect(log.durableThrough).toBeUndefined();
  });

  it('verification names a call whose outcome is not on record, apart from its verdict', async () => {
    const path = tempFile();
    const log = openLog(path);
    const harness = new Harness({ policy: { current: ALLOW_ALL }, audit: log });
    let finish: (value: string) => void = () => {};
    const running = harness.call(read('s1'), () => new Promise<string>((resolve) => (finish = resolve)));
    while ((await log.query({ sessionId: 's1' })).length === 0) await new Promise((r) => setTimeout(r, 10));
    const lines: string[] = [];
    const io = { out: (line: string) => lines.push(line), err: (line: string) => lines.push(line) };
    expect(await verifyAudit({ db: path }, io)).toBe(0);
    expect(lines.join('\n')).toMatch(/calls without an outcome: 1 \(records 1\).*not tampering/);
    finish('done');
    await running;
    lines.length = 0;
    expect(await verifyAudit({ db: path }, io)).toBe(0);
    expect(lines.join('\n')).not.toMatch(/without an outcome/);
  });

  it('syncs the file SQLite writes when the log is opened through a symlink', async () => {
    const real = tempFile();
    const link = join(dirname(real), 'link.db');
    symlinkSync(real, link);
    // the target exists once a log has been opened on it (then closed): the link names it
    await openLog(real).close();
    logs.splice(0);
    const log = openLog(link);
    const harness = new Harness({ policy: { current: ALLOW_ALL }, audit: log });
    let durableWhenRun = -1;
    const result = await harness.call(read('s1'), async () => {
      durableWhenRun = log.durableThrough ?? -1;
      return 'ran';
    });
    expect(result.status).toBe('ok');
    const [intent] = await log.query({ decisionId: result.decisionId, sessionId: 's1', kind: 'call-intent' });
    expect(durableWhenRun).toBeGreaterThanOrEqual(intent?.seq as number);
    expect(existsSync(`${real}-wal`)).toBe(true);
    expect(existsSync(`${link}-wal`)).toBe(false);
  });
});
