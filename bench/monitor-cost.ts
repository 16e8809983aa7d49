/**
 * @module bench/monitor-cost
 * What the runtime monitor (issue 19) costs a decision: the same policy with and without the example
 * `monitor:` section (examples/monitor/monitor.yaml), in one process and one run, taking turns by
 * block (the order turning each round) so that drift on the machine falls on every configuration alike:
 *
 * - `without monitor` twice (the second an A/A control: how far two identical configurations differ);
 * - `with monitor`: the rules, then `CompiledMonitor.judge` over the session's activity and the
 *   agent's baseline.
 *
 * Two levels:
 * 1. `decideCall` alone, for a send (`mail/send`, an external effect: 6 of the 7 example rules count
 *    it) in a session with 10, 100 or 1,000 prior calls: spread out (one call every 5 s, a mix of
 *    reads, a write and a send), or dense (the prior calls are a bulk read within the last minute:
 *    every window holds all of them, the worst case of the window scans), against a mature baseline,
 *    and once with none (a fresh deployment: only the floors apply). The call raises no finding.
 * 2. `Harness.call` (decide, record the intent, run an in-process tool, record the outcome) on an
 *    in-memory SQLite audit log, sessions of 100 and 1,000 calls 6 s apart on a simulated clock,
 *    with the same mature baseline; every call is allowed and raises nothing (checked after timing).
 *
 * Run: npm run bench:monitor-cost [-- --quick]
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Harness } from '../src/harness/harness.js';
import type { CallRequest } from '../src/harness/types.js';
import { compilePolicy } from '../src/policy/compile-policy.js';
import { decideCall } from '../src/policy/decide-call.js';
import type { MonitorInput } from '../src/policy/monitor.js';
import type { ActivityEntry } from '../src/policy/monitor-activity.js';
import type { PreparedPolicy } from '../src/policy/prepared-policy.js';
import { WindowCounters } from '../src/policy/window-counters.js';
import type { AuditEventV1 } from '../src/spec/audit-event.js';
import type { AgentBaseline, BaselineSource } from '../src/spec/monitor.js';
import type { HistoryEntry, ToolCall, ToolRef } from '../src/spec/tool-call.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { format, machine, percentile, type Summary, summarise, timerOverhead } from './measure.js';

const QUICK = process.argv.includes('--quick');
const MONITOR_FILE = 'examples/monitor/monitor.yaml';

const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: monitor-cost }
tools:
  - { server: crm, name: contacts.read, risk: low, effects: [read] }
  - { server: crm, name: notes.read, risk: low, effects: [read] }
  - { server: crm, name: search, risk: low, effects: [read] }
  - { server: crm, name: notes.write, risk: medium, effects: [write] }
  - { server: mail, name: send, risk: high, effects: [external] }
rules:
  - { id: reads, effect: allow, tool: { effects: [read] }, reason: the assistant reads the CRM }
  - { id: notes, effect: allow, tool: { name: notes.write }, reason: it keeps notes }
  - { id: mail-inside, effect: allow, tool: { name: send }, when: "args.to.endsWith('@example.com')", reason: mail to colleagues }
  - { id: mail-outside, effect: deny, tool: { name: send }, when: "!args.to.endsWith('@example.com')", reason: mail leaves the company }
`;

/**
 * A sequence rule over every call that never applies (no tool is called `purge` here): with it the
 * harness reads the session for every decision, with or without the monitor, as it does for any
 * policy with sequence, flow or session rules — so the difference is the monitor's own.
 */
const READS_SESSION = `
sequences:
  - { id: never-after-purge, effect: deny, forbids: { tool: { name: purge } }, reason: nothing after a purge }
`;

/** The policy alone, and the policy with the example monitor document compiled with it. */
function policies(readsSession = false): { without: PreparedPolicy; with: PreparedPolicy } {
  const monitorText = readFileSync(resolve(MONITOR_FILE), 'utf8');
  const compile = (sources: { file: string; text: string }[]) => {
    const compiled = compilePolicy(sources);
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.problems.slice(0, 3)));
    return compiled.policy;
  };
  const text = readsSession ? `${POLICY}${READS_SESSION}` : POLICY;
  const without = compile([{ file: 'policy.yaml', text }]);
  const withMonitor = compile([
    { file: 'policy.yaml', text },
    { file: MONITOR_FILE, text: monitorText },
  ]);
  if (without.monitor !== undefined || withMonitor.monitor === undefined)
    throw new Error('the monitor section is not where the benchmark expects it');
  return { without, with: withMonitor };
}

const READ: ToolRef = { server: 'crm', name: 'contacts.read' };
const SEND: ToolRef = { server: 'mail', name: 'send' };
/** An ordinary session's habit: seven reads, a note, a send (cycled). */
const PATTERN: readonly ToolRef[] = [
  READ,
  { server: 'crm', name: 'search' },
  READ,
  { server: 'crm', name: 'notes.read' },
  READ,
  { server: 'crm', name: 'notes.write' },
  READ,
  { server: 'crm', name: 'search' },
  READ,
  SEND,
];
const key = (tool: ToolRef) => `${tool.server}/${tool.name}`;

/**
 * A mature baseline (5,000 calls over 30 days): every tool and transition of the pattern known, calls
 * in every hour, and peaks that leave the floors as the bounds (3 × 12 reads < 40, …).
 */
function matureBaseline(now: number): AgentBaseline {
  const tools: Record<string, number> = {};
  const transitions: Record<string, number> = {};
  for (const [index, tool] of PATTERN.entries()) {
    tools[key(tool)] = (tools[key(tool)] ?? 0) + 500;
    const next = PATTERN[(index + 1) % PATTERN.length] as ToolRef;
    const pair = `${key(tool)} -> ${key(next)}`;
    transitions[pair] = (transitions[pair] ?? 0) + 500;
  }
  return {
    agentId: 'assistant',
    from: new Date(now - 30 * 86_400_000).toISOString(),
    to: new Date(now).toISOString(),
    calls: 5_000,
    sessions: 250,
    peaks: { 'bulk-read': 12, 'external-burst': 3, 'denial-spike': 1, 'output-volume': 60_000 },
    tools,
    transitions,
    hours: new Array(24).fill(5_000 / 24),
  };
}

interface TrailCase {
  readonly label: string;
  readonly prior: number;
  readonly dense: boolean;
  readonly baseline: boolean;
}

/** The session's prior calls, oldest first, ending just before `now`. */
function trail(shape: TrailCase, now: number): ActivityEntry[] {
  const entries: ActivityEntry[] = [];
  for (let index = 0; index < shape.prior; index++) {
    const age = shape.prior - index;
    const tool = shape.dense ? READ : (PATTERN[index % PATTERN.length] as ToolRef);
    entries.push({
      decisionId: `d-${index}`,
      tool,
      key: key(tool),
      at: shape.dense ? now - Math.floor((age * 59_000) / shape.prior) : now - age * 5_000,
      denied: false,
      outputChars: 600,
      // a bulk read crosses the example's floor of 40 reads a minute at its 41st call (an alert)
      ...(shape.dense && index === 40 ? { raised: ['bulk-read'] } : {}),
    });
  }
  // the send follows a read, a transition the baseline knows
  if (entries.length > 0 && entries.at(-1)?.key !== key(READ)) entries.pop();
  return entries;
}

interface Config {
  readonly label: string;
  readonly policy: PreparedPolicy;
  readonly samples: number[];
  readonly blocks: number[];
}

function decideCase(shape: TrailCase, prepared: { without: PreparedPolicy; with: PreparedPolicy }) {
  const now = Date.parse('2026-12-07T10:30:00Z');
  const entries = trail(shape, now);
  const monitor: MonitorInput = {
    activity: entries,
    baseline: shape.baseline ? matureBaseline(now) : undefined,
    stop: undefined,
    // as the session projection hands it: the one-call findings raised so far (none here)
    raisedOnce: new Set<string>(),
  };
  const history: HistoryEntry[] = entries.map((entry) => ({
    tool: entry.tool,
    args: {},
    at: entry.at,
    outcome: 'ok',
  }));
  const call: ToolCall = {
    principal: { agentId: 'assistant', roles: [], delegatedBy: [], parentSessions: [] },
    sessionId: 's',
    tool: SEND,
    args: { to: 'dana@example.com', subject: 'Follow-up', body: 'As promised, the notes.' },
    context: {},
  };
  const state = {
    session: { id: 's', status: 'active' as const, startedAt: now - 3_600_000, history, labels: [] },
    counters: new WindowCounters(),
    monitor,
  };
  // the same state for every configuration: without a monitor section decideCall does not read it
  const request = { call, state, now };
  const checked = decideCall(prepared.with, request).decision;
  if (checked.effect !== 'allow' || checked.monitor !== undefined)
    throw new Error(`${shape.label}: the measured call should be allowed and raise nothing`);
  if (decideCall(prepared.without, request).decision.effect !== 'allow') throw new Error('decision changed');
  const configs: Config[] = [
    { label: 'without monitor', policy: prepared.without, samples: [], blocks: [] },
    { label: 'without monitor again (A/A)', policy: prepared.without, samples: [], blocks: [] },
    { label: 'with monitor', policy: prepared.with, samples: [], blocks: [] },
  ];
  const rounds = QUICK ? 4 : 30;
  const perBlock = 1_000;
  for (let round = -1; round < rounds; round++) {
    for (let turn = 0; turn < configs.length; turn++) {
      const config = configs[(Math.max(round, 0) + turn) % configs.length] as Config;
      const block = new Float64Array(perBlock);
      for (let index = 0; index < perBlock; index++) {
        const started = process.hrtime.bigint();
        const decided = decideCall(config.policy, request);
        block[index] = Number(process.hrtime.bigint() - started) / 1_000;
        if (decided.decision.effect !== 'allow') throw new Error('decision changed');
      }
      if (round < 0) continue; // warm-up round
      for (const sample of block) config.samples.push(sample);
      config.blocks.push(summarise(block).medianUs);
    }
  }
  return configs;
}

function signed(value: number, digits = 2): string {
  return `${value >= 0 ? '+' : ''}${format(value, digits)}`;
}

/** Median [25th, 75th percentile] of block medians minus the baseline's of the same round. */
function paired(target: Config, baseline: Config, digits = 2): string {
  const differences = target.blocks.map((each, round) => each - (baseline.blocks[round] as number));
  const sorted = Float64Array.from(differences).sort();
  return `${signed(percentile(sorted, 50), digits)} [${signed(percentile(sorted, 25), digits)}, ${signed(percentile(sorted, 75), digits)}]`;
}

function row(label: string, configs: readonly Config[], digits: number): string {
  const [without, again, withMonitor] = configs as [Config, Config, Config];
  const base = summarise(without.samples);
  const on = summarise(withMonitor.samples);
  const control = summarise(again.samples);
  const cell = (summary: Summary) => `${format(summary.medianUs, digits)} / ${format(summary.p99Us, digits)}`;
  return `| ${label} | ${base.samples} | ${cell(base)} | ${cell(on)} | ${signed(on.medianUs - base.medianUs, digits)} | ${signed(on.p99Us - base.p99Us, digits)} | ${paired(withMonitor, without, digits)} | ${cell(control)} | ${paired(again, without, digits)} |`;
}

const HEADER =
  '| case | decisions per configuration | without monitor µs (median / p99) | with monitor µs (median / p99) | Δ median µs | Δ p99 µs | paired Δ median [IQR] | A/A control µs (median / p99) | A/A paired Δ [IQR] |';
const RULE = '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |';

/** A constant baseline source: every agent has the mature baseline. */
function constantBaselines(now: number): BaselineSource {
  const baseline = matureBaseline(now);
  return { of: (agentId) => (agentId === 'assistant' ? baseline : undefined) };
}

interface HarnessConfig extends Config {
  readonly harness: Harness;
  readonly audit: SqliteAuditLog;
}

const clock = { now: Date.parse('2026-12-07T09:00:00Z') };

function harnessConfig(label: string, policy: PreparedPolicy, baselines: BaselineSource): HarnessConfig {
  const audit = new SqliteAuditLog({ path: ':memory:', durability: 'process' });
  const harness = new Harness({
    policy: { current: policy },
    audit,
    clock: () => clock.now,
    baselines,
    sessionCache: { maxSessions: 4 },
  });
  return { label, policy, harness, audit, samples: [], blocks: [] };
}

const principal = { agentId: 'assistant' };

function requestAt(sessionId: string, index: number): CallRequest {
  const tool = PATTERN[index % PATTERN.length] as ToolRef;
  const args: Record<string, unknown> =
    tool === SEND
      ? { to: `colleague${index}@example.com`, subject: 'Follow-up', body: 'As promised, the notes.' }
      : { id: `c-${index}` };
  return { principal, sessionId, tool, args };
}

const OUTPUT = { record: { id: 'c-1', name: 'Ada Lovelace', notes: 'Prefers mail. '.repeat(30) } };

/** One session of `calls` calls, 6 s apart; each call timed. */
async function session(config: HarnessConfig, sessionId: string, calls: number, record: boolean) {
  const block = new Float64Array(calls);
  for (let index = 0; index < calls; index++) {
    clock.now += 6_000;
    const started = process.hrtime.bigint();
    const result = await config.harness.call(requestAt(sessionId, index), async () => OUTPUT);
    block[index] = Number(process.hrtime.bigint() - started) / 1_000;
    if (result.status !== 'ok') throw new Error(`${config.label}: call ${index} ended ${result.status}`);
  }
  if (!record) return;
  for (const sample of block) config.samples.push(sample);
  config.blocks.push(summarise(block).medianUs);
}

async function harnessCase(
  calls: number,
  rounds: number,
  prepared: { without: PreparedPolicy; with: PreparedPolicy },
) {
  const baselines = constantBaselines(clock.now);
  const configs = [
    harnessConfig('without monitor', prepared.without, baselines),
    harnessConfig('without monitor again (A/A)', prepared.without, baselines),
    harnessConfig('with monitor', prepared.with, baselines),
  ];
  const withMonitor = configs[2] as HarnessConfig;
  try {
    for (const config of configs) await session(config, `warm-${calls}`, Math.min(calls, 200), false);
    for (let round = 0; round < rounds; round++)
      for (let turn = 0; turn < configs.length; turn++) {
        const config = configs[(round + turn) % configs.length] as HarnessConfig;
        await session(config, `s-${calls}-${round}`, calls, true);
      }
    await withMonitor.harness.settled();
    let intents = 0;
    let findings = 0;
    for await (const record of withMonitor.audit.records()) {
      const event = JSON.parse(record.body) as AuditEventV1;
      if (event.kind !== 'call-intent') continue;
      intents++;
      if (event.monitor !== undefined) findings++;
    }
    if (intents < rounds * calls || findings > 0)
      throw new Error(
        `${intents} intents recorded, ${findings} with findings: not the ordinary sessions timed`,
      );
    return configs;
  } finally {
    for (const config of configs) await config.audit.close();
  }
}

/** The monitor in the harness is on: a burst of sends in the same configuration is paused. */
async function checkMonitorActs(policy: PreparedPolicy): Promise<string> {
  const config = harnessConfig('check', policy, constantBaselines(clock.now));
  try {
    for (let index = 0; index < 20; index++) {
      clock.now += 1_000;
      const result = await config.harness.call(
        { principal, sessionId: 'burst', tool: SEND, args: { to: `x${index}@example.com`, body: 'hi' } },
        async () => 'sent',
      );
      if (result.status === 'denied')
        return `a burst of sends 1 s apart is paused at send ${index + 1} by ${result.decision.decidedBy.join(', ')}`;
    }
    throw new Error('the monitor did not stop a burst of 20 sends in 20 s');
  } finally {
    await config.audit.close();
  }
}

async function main(): Promise<void> {
  console.log(`machine: ${machine()}`);
  const timer = timerOverhead();
  console.log(
    `timer overhead: median ${format(timer.medianUs)} µs, p99 ${format(timer.p99Us)} µs (included in every sample)`,
  );
  const prepared = policies();
  console.log(
    `\n## decideCall (a send; ${QUICK ? 4 : 30} rounds of 1,000 decisions per configuration, order turning)\n`,
  );
  console.log(HEADER);
  console.log(RULE);
  const cases: TrailCase[] = [
    { label: '10 prior calls, 5 s apart', prior: 10, dense: false, baseline: true },
    { label: '100 prior calls, 5 s apart', prior: 100, dense: false, baseline: true },
    { label: '1,000 prior calls, 5 s apart', prior: 1_000, dense: false, baseline: true },
    { label: '100 prior reads within 1 min (dense)', prior: 100, dense: true, baseline: true },
    { label: '1,000 prior reads within 1 min (dense)', prior: 1_000, dense: true, baseline: true },
    { label: '100 prior calls, 5 s apart, no baseline yet', prior: 100, dense: false, baseline: false },
  ];
  for (const shape of cases) console.log(row(shape.label, decideCase(shape, prepared), 2));

  console.log(`\n${await checkMonitorActs(prepared.with)}`);
  const harnessRounds = { 100: QUICK ? 3 : 30, 1000: QUICK ? 1 : 6 };
  console.log(
    `\n## Harness.call, in-memory SQLite (sessions of 100 calls × ${harnessRounds[100]} rounds, 1,000 calls × ${harnessRounds[1000]} rounds, per configuration)\n`,
  );
  console.log(HEADER.replace('decisions', 'calls'));
  console.log(RULE);
  for (const calls of [100, 1_000] as const)
    console.log(
      row(
        `sessions of ${calls} calls, 6 s apart`,
        await harnessCase(calls, harnessRounds[calls], prepared),
        1,
      ),
    );
  // the monitor's own share: the policy reads the session anyway (a sequence rule), in both
  const reading = policies(true);
  for (const calls of [100, 1_000] as const)
    console.log(
      row(
        `sessions of ${calls} calls, 6 s apart, the policy reads the session anyway`,
        await harnessCase(calls, harnessRounds[calls], reading),
        1,
      ),
    );
}

await main();
