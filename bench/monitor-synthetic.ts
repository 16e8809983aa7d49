/**
 * @module bench/monitor-synthetic
 * False alarms of the runtime monitor (issue 19) on a long synthetic benign workload: four agents over
 * eight simulated weeks, each call made through a real `Harness` recording into a SQLite file, on a
 * simulated clock. Weeks 1–4 build the baseline (no baseline is given to the monitor yet: a fresh
 * deployment, only the floors apply); weeks 5–8 are judged against baselines learned from the log by
 * `LoggedBaselines`, refreshed whenever the simulated hour changes (its period is the policy's 30 days
 * ending at the start of the current hour). The policy is the workload's own rules plus the example
 * monitor document, examples/monitor/monitor.yaml, unchanged.
 *
 * The traffic is drawn from distributions (seeded; see `AGENTS` and `sessionsOf`), never from the
 * monitor's thresholds:
 * - sessions per day ~ Poisson (a weekday and a weekend mean per agent);
 * - a session's start hour: with probability 0.95 from the agent's working-hours profile (a normal
 *   around its usual hour, or a fixed batch hour), else uniform over the day (occasional odd hours);
 * - calls per session ~ 1 + lognormal (per-agent median and spread);
 * - gaps between calls ~ lognormal (per-agent median, σ 1: long tails and natural small bursts);
 * - the tool: a first-order Markov chain whose transition weights are the agent's tool weights each
 *   multiplied by a seeded lognormal factor (habits), with rare tools of small weight in the tail;
 * - outputs ~ lognormal characters per tool; denials come from the policy's own rules (payments over
 *   10,000, mail to outside domains, CI runs on `main`) applied to arguments drawn from distributions.
 *
 * Then, as a check that the benchmark can see a deviation, each agent bursts once after week 8: a
 * bulk read (120 reads, 0.5 s apart) then external sends (40, 3 s apart), judged against the final
 * baselines; the example's `external-burst` rule must pause the session.
 *
 * Run: npm run bench:monitor-synthetic [-- --seed N] [-- --weeks N]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Harness } from '../src/harness/harness.js';
import { baselinePeriod, LoggedBaselines, readBaselines } from '../src/inspect/monitor-baselines.js';
import { compilePolicy } from '../src/policy/compile-policy.js';
import type { PreparedPolicy } from '../src/policy/prepared-policy.js';
import type { MonitorFinding } from '../src/spec/monitor.js';
import type { ToolRef } from '../src/spec/tool-call.js';
import type { AuditLog, AuditQuery, AuditRecordView } from '../src/store/audit-log.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { machine } from './measure.js';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}
const SEED = option('--seed', 19);
const WEEKS = option('--weeks', 8);
const DAY = 86_400_000;
const HOUR = 3_600_000;
/** Monday 2026-01-05 00:00 UTC. */
const START = Date.parse('2026-01-05T00:00:00Z');
const MONITOR_FILE = 'examples/monitor/monitor.yaml';

// ---------------------------------------------------------------------------------------- randomness

/** mulberry32: a small seeded generator, enough for a workload. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

class Draw {
  constructor(readonly uniform: () => number) {}
  normal(mean = 0, sd = 1): number {
    const u = 1 - this.uniform();
    const v = this.uniform();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  /** Lognormal with the given median and σ of its logarithm. */
  lognormal(median: number, sigma: number): number {
    return median * Math.exp(this.normal(0, sigma));
  }
  poisson(mean: number): number {
    const limit = Math.exp(-mean);
    let product = this.uniform();
    let count = 0;
    while (product > limit) {
      product *= this.uniform();
      count++;
    }
    return count;
  }
  pick<T>(items: readonly T[], weights: readonly number[]): T {
    let total = 0;
    for (const weight of weights) total += weight;
    let at = this.uniform() * total;
    for (const [index, weight] of weights.entries()) {
      at -= weight;
      if (at < 0) return items[index] as T;
    }
    return items.at(-1) as T;
  }
}

// ---------------------------------------------------------------------------------------- the agents

interface ToolProfile {
  readonly server: string;
  readonly name: string;
  readonly effects: readonly ('read' | 'write' | 'external' | 'irreversible')[];
  readonly risk: 'low' | 'medium' | 'high' | 'critical';
  /** Relative frequency in the agent's work (rare tools: well under 1 % of calls). */
  readonly weight: number;
  /** Median characters of a result (lognormal, σ 1). */
  readonly output: number;
}

interface AgentProfile {
  readonly id: string;
  readonly tools: readonly ToolProfile[];
  /** Mean sessions per weekday and per weekend day. */
  readonly weekday: number;
  readonly weekend: number;
  /** Start hour (UTC): normal around `hour` with `spread` hours; or, for a batch agent, `batch` at that hour. */
  readonly hour: number;
  readonly spread: number;
  /** Median and σ of the calls per session beyond the first. */
  readonly length: readonly [number, number];
  /** Median seconds between calls. */
  readonly gap: number;
}

const tool = (
  server: string,
  name: string,
  effects: ToolProfile['effects'],
  risk: ToolProfile['risk'],
  weight: number,
  output: number,
): ToolProfile => ({ server, name, effects, risk, weight, output });

const AGENTS: readonly AgentProfile[] = [
  {
    id: 'support-assistant',
    tools: [
      tool('crm', 'contacts.read', ['read'], 'low', 30, 600),
      tool('crm', 'tickets.read', ['read'], 'low', 25, 1_000),
      tool('crm', 'search', ['read'], 'low', 15, 1_500),
      tool('kb', 'article.read', ['read'], 'low', 8, 2_000),
      tool('crm', 'tickets.update', ['write'], 'medium', 12, 200),
      tool('mail', 'send', ['external'], 'high', 10, 100),
      tool('crm', 'export', ['read'], 'medium', 0.3, 30_000),
      tool('crm', 'contacts.update', ['write'], 'medium', 0.5, 200),
    ],
    weekday: 14,
    weekend: 3,
    hour: 12,
    spread: 2.5,
    length: [12, 0.6],
    gap: 8,
  },
  {
    id: 'finance-assistant',
    tools: [
      tool('ledger', 'invoices.read', ['read'], 'low', 30, 1_200),
      tool('ledger', 'accounts.read', ['read'], 'low', 20, 600),
      tool('ledger', 'report.run', ['read'], 'medium', 6, 8_000),
      tool('payments', 'pay', ['write', 'external', 'irreversible'], 'high', 12, 150),
      tool('mail', 'send', ['external'], 'high', 6, 100),
      tool('ledger', 'invoices.void', ['write', 'irreversible'], 'high', 0.4, 150),
    ],
    weekday: 6,
    weekend: 0.2,
    hour: 11,
    spread: 2,
    length: [10, 0.5],
    gap: 15,
  },
  {
    id: 'research-agent',
    tools: [
      tool('web', 'search', ['read'], 'low', 30, 1_500),
      tool('web', 'fetch', ['read'], 'low', 35, 3_000),
      tool('notes', 'read', ['read'], 'low', 10, 2_000),
      tool('notes', 'write', ['write'], 'low', 12, 100),
      tool('chat', 'post', ['external'], 'medium', 2, 100),
      tool('web', 'download', ['read'], 'medium', 0.3, 50_000),
    ],
    weekday: 10,
    weekend: 5,
    hour: 14,
    spread: 4,
    length: [20, 0.7],
    gap: 4,
  },
  {
    id: 'ops-bot',
    tools: [
      tool('repo', 'read', ['read'], 'low', 25, 1_500),
      tool('ci', 'status', ['read'], 'low', 25, 500),
      tool('ci', 'run', ['write'], 'medium', 12, 300),
      tool('chat', 'post', ['external'], 'medium', 10, 100),
      tool('deploy', 'release', ['write', 'irreversible'], 'high', 2, 400),
      tool('deploy', 'rollback', ['write', 'irreversible'], 'high', 0.3, 400),
    ],
    weekday: 8,
    weekend: 6,
    hour: 2, // a nightly batch, plus on-call sessions at any hour (the uniform 5 %, and a wide spread)
    spread: 5,
    length: [8, 0.6],
    gap: 10,
  },
];

const keyOf = (tool: ToolRef) => `${tool.server}/${tool.name}`;

/** The workload's policy: its catalogue, its rules (which deny now and then), and the monitor document. */
function policy(): PreparedPolicy {
  const catalogue = new Map<string, ToolProfile>();
  for (const agent of AGENTS) for (const each of agent.tools) catalogue.set(keyOf(each), each);
  const lines = ['apiVersion: reins.dev/v1', 'kind: Policy', 'metadata: { name: synthetic }', 'tools:'];
  for (const each of catalogue.values())
    lines.push(
      `  - { server: ${each.server}, name: ${each.name}, risk: ${each.risk}, effects: [${each.effects.join(', ')}] }`,
    );
  lines.push(
    'rules:',
    '  - { id: work, effect: allow, reason: the agents do their work }',
    '  - { id: large-payment, effect: deny, tool: { name: pay }, when: "args.amount > 10000", reason: payments over 10000 need a human }',
    `  - { id: outside-mail, effect: deny, tool: { name: send }, when: "!args.to.endsWith('@example.com')", reason: mail leaves the company }`,
    `  - { id: main-branch, effect: deny, tool: { name: run }, when: "args.branch == 'main'", reason: CI on main runs on merge only }`,
  );
  const compiled = compilePolicy([
    { file: 'synthetic.yaml', text: lines.join('\n') },
    { file: MONITOR_FILE, text: readFileSync(resolve(MONITOR_FILE), 'utf8') },
  ]);
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.problems.slice(0, 3)));
  return compiled.policy;
}

// ---------------------------------------------------------------------------------------- the traffic

interface PlannedCall {
  readonly at: number;
  readonly agentId: string;
  readonly sessionId: string;
  readonly tool: ToolRef;
  readonly args: Record<string, unknown>;
  readonly outputChars: number;
}

/** Arguments drawn for a tool; the rules deny some of them (outside mail, large payments, CI on main). */
function argsOf(draw: Draw, profile: ToolProfile, n: number): Record<string, unknown> {
  switch (profile.name) {
    case 'send':
      return {
        to: draw.uniform() < 0.03 ? `client${n}@outside.example.org` : `colleague${n % 40}@example.com`,
        body: 'as discussed',
      };
    case 'pay':
      return { amount: Math.round(draw.lognormal(800, 1.2)), payee: `supplier-${n % 25}` };
    case 'run':
      return { branch: draw.uniform() < 0.02 ? 'main' : `feature-${n % 50}` };
    default:
      return { id: `${profile.name}-${n}` };
  }
}

/** Habits: each tool's successors weighted by the agent's tool weights times a seeded lognormal factor. */
function habits(draw: Draw, agent: AgentProfile): number[][] {
  return agent.tools.map(() => agent.tools.map((next) => next.weight * Math.exp(draw.normal(0, 1))));
}

function sessionsOf(draw: Draw, agent: AgentProfile, days: number): PlannedCall[] {
  const chain = habits(draw, agent);
  const calls: PlannedCall[] = [];
  const indexes = agent.tools.map((_, index) => index);
  let serial = 0;
  for (let day = 0; day < days; day++) {
    const weekend = day % 7 >= 5;
    const sessions = draw.poisson(weekend ? agent.weekend : agent.weekday);
    for (let s = 0; s < sessions; s++) {
      const hour =
        draw.uniform() < 0.05
          ? draw.uniform() * 24
          : ((draw.normal(agent.hour, agent.spread) % 24) + 24) % 24;
      let at = START + day * DAY + Math.floor(hour * HOUR);
      const length = 1 + Math.round(draw.lognormal(agent.length[0], agent.length[1]));
      const sessionId = `${agent.id}-${day}-${s}`;
      let current = draw.pick(
        indexes,
        agent.tools.map((each) => each.weight),
      );
      for (let n = 0; n < length; n++) {
        const profile = agent.tools[current] as ToolProfile;
        calls.push({
          at,
          agentId: agent.id,
          sessionId,
          tool: { server: profile.server, name: profile.name },
          args: argsOf(draw, profile, serial++),
          outputChars: Math.max(2, Math.round(draw.lognormal(profile.output, 1))),
        });
        at += Math.max(200, Math.round(draw.lognormal(agent.gap * 1_000, 1)));
        current = draw.pick(indexes, chain[current] as number[]);
      }
    }
  }
  return calls;
}

// ---------------------------------------------------------------------------------------- recording

/**
 * The baselines' reads of the log, answered from a copy of its records: each record is read once from
 * the SQLite file (in sequence order, as the harness wrote it), and `LoggedBaselines` then learns from
 * the same records in the same order as it would from the file. Why: learning 30 days again from the
 * file at every simulated hour costs ~0.1 ms per recorded call (parsing each outcome's result, then
 * measuring it), several seconds per refresh for this workload, hours for the whole run (the end of
 * the run times one refresh from the file itself). Only what `readBaselines` asks is supported.
 */
class LogCopy implements Pick<AuditLog, 'query'> {
  private readonly records: AuditRecordView[] = [];
  private lastSeq = 0;

  constructor(private readonly audit: AuditLog) {}

  async query(query: AuditQuery): Promise<AuditRecordView[]> {
    const { from, to, afterSeq = 0, order = 'asc', limit = 1_000, ...rest } = query;
    if (Object.keys(rest).length > 0 || order !== 'asc' || from === undefined || to === undefined)
      throw new Error(`LogCopy answers what readBaselines asks, not ${JSON.stringify(query)}`);
    await this.sync();
    let at = this.firstAt(from);
    while (at < this.records.length && (this.records[at] as AuditRecordView).seq <= afterSeq) at++;
    const page: AuditRecordView[] = [];
    for (; at < this.records.length && page.length < limit; at++) {
      const record = this.records[at] as AuditRecordView;
      if (record.event.time >= to) break;
      page.push(record);
    }
    return page;
  }

  /** Appends the records written since the last read; their times must not go back. */
  private async sync(): Promise<void> {
    for (;;) {
      const page = await this.audit.query({ afterSeq: this.lastSeq, order: 'asc', limit: 10_000 });
      for (const record of page) {
        const last = this.records.at(-1);
        if (last !== undefined && record.event.time < last.event.time)
          throw new Error(`record ${record.seq} goes back in time`);
        this.records.push(record);
        this.lastSeq = record.seq;
      }
      if (page.length < 10_000) return;
    }
  }

  /** The first record at or after `time` (records are in time order). */
  private firstAt(time: string): number {
    let low = 0;
    let high = this.records.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.records[middle] as AuditRecordView).event.time < time) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

interface Tally {
  calls: number;
  readonly sessions: Set<string>;
  /** Rule -> calls with a finding of it, and sessions with one. */
  readonly findings: Map<string, { calls: number; sessions: Set<string>; agents: Map<string, number> }>;
  readonly stopped: Set<string>;
  readonly agentCalls: Map<string, number>;
  denied: number;
}

const tally = (): Tally => ({
  calls: 0,
  sessions: new Set(),
  findings: new Map(),
  stopped: new Set(),
  agentCalls: new Map(),
  denied: 0,
});

function count(
  into: Tally,
  call: PlannedCall,
  findings: readonly MonitorFinding[] | undefined,
  denied: boolean,
) {
  into.calls++;
  into.sessions.add(call.sessionId);
  into.agentCalls.set(call.agentId, (into.agentCalls.get(call.agentId) ?? 0) + 1);
  if (denied) into.denied++;
  for (const finding of findings ?? []) {
    let rule = into.findings.get(finding.rule);
    if (rule === undefined) {
      rule = { calls: 0, sessions: new Set(), agents: new Map() };
      into.findings.set(finding.rule, rule);
    }
    rule.calls++;
    rule.sessions.add(call.sessionId);
    rule.agents.set(call.agentId, (rule.agents.get(call.agentId) ?? 0) + 1);
    if (finding.action !== 'alert') into.stopped.add(call.sessionId);
  }
}

function printTally(label: string, into: Tally, policy: PreparedPolicy): void {
  const sessions = into.sessions.size;
  const withAny = new Set<string>();
  for (const rule of into.findings.values()) for (const id of rule.sessions) withAny.add(id);
  console.log(
    `\n### ${label}: ${into.calls} calls, ${sessions} sessions, ${into.denied} denied by the rules or the monitor; sessions with a finding ${withAny.size} (${((100 * withAny.size) / Math.max(1, sessions)).toFixed(2)} %), stopped by the monitor ${into.stopped.size}\n`,
  );
  const agents = AGENTS.map((agent) => `${agent.id} ${into.agentCalls.get(agent.id) ?? 0}`).join(', ');
  console.log(`calls per agent: ${agents}\n`);
  console.log(
    '| rule | action | calls with a finding | per 1,000 calls | sessions with a finding | per session | by agent |',
  );
  console.log('| --- | --- | ---: | ---: | ---: | ---: | --- |');
  for (const rule of policy.monitor?.rules ?? []) {
    const found = into.findings.get(rule.id);
    const calls = found?.calls ?? 0;
    const with_ = found?.sessions.size ?? 0;
    const agents = [...(found?.agents ?? [])].map(([agent, n]) => `${agent} ${n}`).join(', ');
    console.log(
      `| ${rule.id} | ${rule.action} | ${calls} | ${((1_000 * calls) / Math.max(1, into.calls)).toFixed(2)} | ${with_} | ${(with_ / Math.max(1, sessions)).toFixed(4)} | ${agents || '—'} |`,
    );
  }
}

interface Run {
  readonly harness: Harness;
  readonly baselines: LoggedBaselines;
  readonly clock: { now: number };
  judging: boolean;
  refreshes: number;
  refreshMs: number;
}

async function play(
  run: Run,
  call: PlannedCall,
): Promise<{ findings: readonly MonitorFinding[] | undefined; denied: boolean }> {
  run.clock.now = call.at;
  if (run.judging) {
    const started = performance.now();
    const before = run.baselines.all();
    await run.baselines.refresh();
    if (run.baselines.all() !== before) {
      run.refreshes++;
      run.refreshMs += performance.now() - started;
    }
  }
  const result = await run.harness.call(
    { principal: { agentId: call.agentId }, sessionId: call.sessionId, tool: call.tool, args: call.args },
    async () => 'x'.repeat(call.outputChars),
  );
  // the benchmark's own calls must never be refused by the enforcement point itself (a malformed call)
  if (result.status === 'error' || result.decision.decidedBy.some((rule) => rule.startsWith('reins.')))
    throw new Error(`${call.sessionId}: ${JSON.stringify(result.decision.reasons)}`);
  return { findings: result.decision.monitor, denied: result.decision.effect === 'deny' };
}

/** One burst per agent after the last week: a bulk read, then external sends. */
async function bursts(run: Run, at: number): Promise<void> {
  console.log('\n### Injected bursts (after the last week, judged against the final baselines)\n');
  console.log(
    '| agent | burst | findings, in order (rule at call n: observed > bound, or the baseline count or share < `below`) | send at which the session stopped | calls after it denied |',
  );
  console.log('| --- | --- | --- | ---: | ---: |');
  for (const [index, agent] of AGENTS.entries()) {
    const readProfile = agent.tools.find((each) => each.effects.includes('read')) as ToolProfile;
    const sendProfile = agent.tools.find((each) => each.effects.includes('external')) as ToolProfile;
    const read: ToolRef = { server: readProfile.server, name: readProfile.name };
    const send: ToolRef = { server: sendProfile.server, name: sendProfile.name };
    const sessionId = `burst-${agent.id}`;
    let now = at + index * 2 * HOUR;
    const findings: string[] = [];
    let stoppedAt: number | undefined;
    let deniedAfter = 0;
    const plan: PlannedCall[] = [];
    for (let n = 0; n < 120; n++, now += 500)
      plan.push({
        at: now,
        agentId: agent.id,
        sessionId,
        tool: read,
        args: { id: `bulk-${n}` },
        outputChars: readProfile.output,
      });
    for (let n = 0; n < 40; n++, now += 3_000)
      plan.push({
        at: now,
        agentId: agent.id,
        sessionId,
        tool: send,
        args:
          send.name === 'pay'
            ? { amount: 900, payee: `new-payee-${n}` }
            : { to: `colleague${n}@example.com`, body: 'the export' },
        outputChars: 100,
      });
    for (const [n, call] of plan.entries()) {
      const result = await play(run, call);
      for (const finding of result.findings ?? [])
        findings.push(
          finding.windowMs !== undefined
            ? `${finding.rule} at ${n + 1}: ${finding.observed} > ${finding.threshold}`
            : `${finding.rule} at ${n + 1}: baseline ${finding.baseline?.value} < ${finding.threshold}`,
        );
      if (stoppedAt === undefined && (result.findings ?? []).some((finding) => finding.action !== 'alert'))
        stoppedAt = n + 1 - 120;
      else if (stoppedAt !== undefined && result.denied) deniedAfter++;
    }
    console.log(
      `| ${agent.id} | 120 × ${keyOf(read)} 0.5 s apart, then 40 × ${keyOf(send)} 3 s apart | ${findings.join('; ') || 'none'} | ${stoppedAt ?? 'not stopped'} | ${deniedAfter} of ${stoppedAt === undefined ? 0 : 40 - stoppedAt} |`,
    );
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  console.log(`machine: ${machine()}`);
  const prepared = policy();
  const draw = new Draw(generator(SEED));
  const days = WEEKS * 7;
  const planned = AGENTS.flatMap((agent) => sessionsOf(draw, agent, days)).sort((a, b) => a.at - b.at);
  const judgedFrom = START + Math.floor(days / 2) * DAY;
  console.log(
    `seed ${SEED}, ${WEEKS} weeks from ${new Date(START).toISOString().slice(0, 10)}: ${planned.length} calls planned; judged from ${new Date(judgedFrom).toISOString().slice(0, 10)}`,
  );
  const directory = mkdtempSync(join(tmpdir(), 'reins-monitor-synthetic-'));
  const audit = new SqliteAuditLog({ path: join(directory, 'reins.db'), durability: 'process' });
  const clock = { now: START };
  const baselines = new LoggedBaselines({
    audit: new LogCopy(audit),
    policy: () => prepared,
    clock: () => clock.now,
    onError: (error) => {
      throw error;
    },
  });
  const harness = new Harness({ policy: { current: prepared }, audit, clock: () => clock.now, baselines });
  const run: Run = { harness, baselines, clock, judging: false, refreshes: 0, refreshMs: 0 };
  const building = tally();
  const judged = tally();
  try {
    for (const call of planned) {
      if (!run.judging && call.at >= judgedFrom) run.judging = true;
      const result = await play(run, call);
      count(run.judging ? judged : building, call, result.findings, result.denied);
    }
    const recorded = performance.now();
    printTally(`Weeks 1–${WEEKS / 2}: no baseline yet (the floors alone)`, building, prepared);
    printTally(`Weeks ${WEEKS / 2 + 1}–${WEEKS}: judged against the learned baselines`, judged, prepared);
    console.log('\nBaselines at the end (30 days ending at the current hour):\n');
    console.log(
      '| agent | calls | sessions | tools | transitions | peaks (bulk-read, external-burst, denial-spike, output-volume) |',
    );
    console.log('| --- | ---: | ---: | ---: | ---: | --- |');
    for (const each of baselines.all().values())
      console.log(
        `| ${each.agentId} | ${each.calls} | ${each.sessions} | ${Object.keys(each.tools).length} | ${Object.keys(each.transitions).length} | ${['bulk-read', 'external-burst', 'denial-spike', 'output-volume'].map((rule) => each.peaks[rule] ?? 0).join(', ')} |`,
      );
    await bursts(run, START + days * DAY + 10 * HOUR);
    const fromFile = performance.now();
    const period = baselinePeriod(prepared.monitor?.baselineWindowMs ?? 0, clock.now);
    const learned = await readBaselines(audit, prepared, period);
    const calls = [...learned.values()].reduce((sum, each) => sum + each.calls, 0);
    console.log(
      `\none refresh read from the SQLite file itself (readBaselines, 30 days, ${calls} calls): ${((performance.now() - fromFile) / 1000).toFixed(2)} s`,
    );
    console.log(
      `\nrecording ${planned.length} calls: ${((recorded - started) / 1000).toFixed(1)} s, of which ${run.refreshes} baseline refreshes: ${(run.refreshMs / 1000).toFixed(1)} s (${(run.refreshMs / Math.max(1, run.refreshes)).toFixed(0)} ms each); total ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  } finally {
    await harness.settled();
    await audit.close();
    rmSync(directory, { recursive: true, force: true });
  }
}

await main();
