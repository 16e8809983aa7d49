/**
 * @module bench/monitor-agentdojo
 * False alarms of the runtime monitor (issue 19) on the AgentDojo dev set: every run replayed through
 * the production pipeline (replay/replay-runner, as `reins replay` does) with its suite's policy
 * (examples/agentdojo/<suite>.yaml) AND the example monitor document (examples/monitor/monitor.yaml)
 * compiled together, recording into one SQLite file; then the monitor findings in that log, per
 * session and rule. Clean runs are the traces under `/none/none.json`; the false-alarm rate is the
 * share of them with at least one finding. The attacked runs' share is given for information.
 *
 * The same traces are replayed without the monitor document (in memory) and the decisions compared
 * call by call: the monitor must not change what the pack decides. With `--score <score.py>` both
 * decision files are also scored by AgentDojo's script and its outputs compared.
 *
 * Two limits of the replay, both making it the worst case for rates and the best case for the other
 * signals: the traces have no timestamps (a run's calls are decided within milliseconds, so every
 * window holds the whole session so far), and there is no learned baseline (a fresh deployment: only
 * the rules' `above` floors apply; `factor`, new tools, rare transitions and off-hours wait for one).
 *
 * Run: npm run bench:monitor-agentdojo [-- <traces dir, default /tmp/agentdojo>] [-- --score <score.py>]
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve, sep } from 'node:path';
import { loadPolicy } from '../src/loader/policy-files.js';
import { resultChars } from '../src/policy/monitor-activity.js';
import type { PreparedPolicy } from '../src/policy/prepared-policy.js';
import { AgentDojoImporter } from '../src/replay/agentdojo-importer.js';
import { type ReplayDecision, type ReplaySummary, replay } from '../src/replay/replay-runner.js';
import type { AuditEventV1 } from '../src/spec/audit-event.js';
import { WINDOWED_SIGNALS } from '../src/spec/monitor.js';
import type { AuditLog } from '../src/store/audit-log.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { machine } from './measure.js';

const MONITOR_FILE = resolve('examples/monitor/monitor.yaml');
const PACK = resolve('examples/agentdojo');

function option(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
}
const positional = process.argv
  .slice(2)
  .filter((arg, index, all) => !arg.startsWith('--') && all[index - 1] !== '--score');
const TRACES = resolve(positional[0] ?? '/tmp/agentdojo');
const SCORE = option('--score');

/** `<dir>/<suite>/` holding the suite's policy and the monitor document, one per suite of the pack. */
function monitoredPack(dir: string): string {
  for (const file of readdirSync(PACK).filter((name) => name.endsWith('.yaml'))) {
    const suite = join(dir, basename(file, '.yaml'));
    mkdirSync(suite, { recursive: true });
    copyFileSync(join(PACK, file), join(suite, file));
    copyFileSync(MONITOR_FILE, join(suite, 'monitor.yaml'));
    const loaded = loadPolicy(suite);
    if (!loaded.ok || loaded.policy.monitor === undefined)
      throw new Error(`${suite}: does not load with its monitor: ${JSON.stringify(loaded)}`.slice(0, 500));
  }
  return dir;
}

async function run(
  policy: string,
  openAudit: () => AuditLog,
  out: string,
): Promise<{
  summary: ReplaySummary;
  decisions: Map<string, ReplayDecision['decision']>;
}> {
  const decisions = new Map<string, ReplayDecision['decision']>();
  const lines: string[] = [];
  const summary = await replay({
    importer: new AgentDojoImporter(),
    source: TRACES,
    policy,
    openAudit,
    onDecision: (line) => {
      decisions.set(`${line.trace}#${line.index}`, line.decision);
      lines.push(JSON.stringify(line));
    },
    onProblem: (message) => {
      throw new Error(`replay problem: ${message}`);
    },
  });
  writeFileSync(out, `${lines.join('\n')}\n`);
  return { summary, decisions };
}

interface SessionFacts {
  calls: number;
  /** Rules that raised a finding in the session (with their action). */
  readonly rules: Map<string, string>;
  /** Per windowed rule of the monitor: calls it counts (denials for `denials`, characters for output). */
  readonly totals: Map<string, number>;
}

const isClean = (sessionId: string) => sessionId.endsWith('/none/none.json');

/** Clean runs of the traces directory, calls or not. */
function cleanRuns(): number {
  const files = readdirSync(TRACES, { recursive: true, encoding: 'utf8' });
  return files.filter((file) => isClean(file.split(sep).join('/'))).length;
}

/** Every session of the kept log: its findings, and what each windowed rule could have counted. */
async function sessionsOf(path: string, policyOf: (suite: string) => PreparedPolicy) {
  const sessions = new Map<string, SessionFacts>();
  const toolOf = new Map<string, { server: string; name: string }>();
  const log = new SqliteAuditLog({ path });
  try {
    for await (const record of log.records()) {
      const event = JSON.parse(record.body) as AuditEventV1;
      if (event.kind !== 'call-intent' && event.kind !== 'call-outcome') continue;
      let facts = sessions.get(event.sessionId);
      if (facts === undefined) {
        facts = { calls: 0, rules: new Map(), totals: new Map() };
        sessions.set(event.sessionId, facts);
      }
      const monitor = policyOf(event.sessionId.split('/')[2] as string).monitor;
      if (monitor === undefined) throw new Error('no monitor');
      const add = (rule: string, value: number) =>
        facts.totals.set(rule, (facts.totals.get(rule) ?? 0) + value);
      if (event.kind === 'call-intent') {
        facts.calls++;
        toolOf.set(event.decisionId, event.tool);
        for (const finding of event.monitor ?? []) facts.rules.set(finding.rule, finding.action);
        const matches = monitor.matchesOf(event.tool);
        for (const [index, rule] of monitor.rules.entries()) {
          if (!matches[index] || !WINDOWED_SIGNALS.has(rule.signal)) continue;
          if (rule.signal === 'rate') add(rule.id, 1);
          if (rule.signal === 'denials' && event.decision.effect === 'deny') add(rule.id, 1);
        }
      } else if (event.outcome === 'ok' && event.result !== undefined) {
        const tool = toolOf.get(event.decisionId);
        if (tool === undefined) continue;
        const matches = monitor.matchesOf(tool);
        for (const [index, rule] of monitor.rules.entries())
          if (matches[index] && rule.signal === 'output-volume') add(rule.id, resultChars(event.result));
      }
    }
  } finally {
    await log.close();
  }
  return sessions;
}

function share(part: number, whole: number): string {
  return `${part} / ${whole} = ${whole === 0 ? 'n/a' : (part / whole).toFixed(3)}`;
}

function report(sessions: Map<string, SessionFacts>, monitorPolicy: PreparedPolicy): void {
  const groups = { clean: [] as SessionFacts[], attacked: [] as SessionFacts[] };
  for (const [id, facts] of sessions) (isClean(id) ? groups.clean : groups.attacked).push(facts);
  const monitor = monitorPolicy.monitor;
  if (monitor === undefined) throw new Error('no monitor');
  console.log('\n| runs | sessions | with ≥ 1 finding | with a stopping finding (hold, pause, suspend) |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const [label, group] of Object.entries(groups)) {
    const flagged = group.filter((facts) => facts.rules.size > 0).length;
    const stopped = group.filter((facts) =>
      [...facts.rules.values()].some((action) => action !== 'alert'),
    ).length;
    console.log(
      `| ${label} | ${group.length} | ${share(flagged, group.length)} | ${share(stopped, group.length)} |`,
    );
  }
  console.log(
    '\n| rule | signal | action | bound without a baseline | clean sessions with a finding | attacked sessions with a finding | highest session total, clean | highest session total, attacked |',
  );
  console.log('| --- | --- | --- | --- | ---: | ---: | ---: | ---: |');
  for (const rule of monitor.rules) {
    const count = (group: SessionFacts[]) => group.filter((facts) => facts.rules.has(rule.id)).length;
    const highest = (group: SessionFacts[]) =>
      WINDOWED_SIGNALS.has(rule.signal)
        ? String(Math.max(0, ...group.map((facts) => facts.totals.get(rule.id) ?? 0)))
        : '—';
    const bound = WINDOWED_SIGNALS.has(rule.signal) ? `> ${rule.above ?? '(none)'}` : 'needs a baseline';
    console.log(
      `| ${rule.id} | ${rule.signal} | ${rule.action} | ${bound} | ${count(groups.clean)} | ${count(groups.attacked)} | ${highest(groups.clean)} | ${highest(groups.attacked)} |`,
    );
  }
  const calls = [...sessions.values()].map((facts) => facts.calls).sort((a, b) => a - b);
  console.log(
    `\nclean runs in the dev set: ${cleanRuns()} (${groups.clean.length} with at least one call; a run without calls raises nothing)`,
  );
  console.log(
    `\nsessions: ${sessions.size}, calls per session: median ${calls[Math.floor(calls.length / 2)]}, max ${calls.at(-1)}`,
  );
}

function compare(
  withMonitor: Map<string, ReplayDecision['decision']>,
  without: Map<string, ReplayDecision['decision']>,
): void {
  const changed = { clean: 0, attacked: 0 };
  const examples: string[] = [];
  for (const [call, effect] of without) {
    if (withMonitor.get(call) === effect) continue;
    changed[isClean(`replay:${call.split('#')[0]}`) ? 'clean' : 'attacked']++;
    if (examples.length < 5) examples.push(`${call}: ${effect} -> ${withMonitor.get(call)}`);
  }
  console.log(
    `\ndecisions compared with the pack alone: ${without.size} calls (${withMonitor.size} with the monitor); changed: ${changed.clean} in clean runs, ${changed.attacked} in attacked runs${examples.length > 0 ? `\n  ${examples.join('\n  ')}` : ''}`,
  );
}

function score(traces: string, decisions: string): string {
  const result = spawnSync('python3', [SCORE as string, traces, decisions], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`score.py failed: ${result.stderr}`);
  return result.stdout;
}

async function main(): Promise<void> {
  console.log(`machine: ${machine()}`);
  const work = mkdtempSync(join(tmpdir(), 'reins-monitor-agentdojo-'));
  try {
    const pack = monitoredPack(join(work, 'policies'));
    const db = join(work, 'replay.db');
    const log = new SqliteAuditLog({ path: db, durability: 'process' });
    const withOut = join(work, 'with-monitor.jsonl');
    const withoutOut = join(work, 'without-monitor.jsonl');
    const monitored = await run(pack, () => log, withOut);
    console.log(
      `with the monitor: ${monitored.summary.traces} traces, ${monitored.summary.calls} calls in ${monitored.summary.seconds.toFixed(1)} s`,
    );
    const plain = await run(PACK, () => new SqliteAuditLog({ path: ':memory:' }), withoutOut);
    console.log(
      `pack alone: ${plain.summary.traces} traces, ${plain.summary.calls} calls in ${plain.summary.seconds.toFixed(1)} s`,
    );
    const policies = new Map<string, PreparedPolicy>();
    const policyOf = (suite: string) => {
      let policy = policies.get(suite);
      if (policy === undefined) {
        const loaded = loadPolicy(join(pack, suite));
        if (!loaded.ok) throw new Error(`${suite}: does not load`);
        policy = loaded.policy;
        policies.set(suite, policy);
      }
      return policy;
    };
    report(await sessionsOf(db, policyOf), policyOf('banking'));
    compare(monitored.decisions, plain.decisions);
    if (SCORE !== undefined) {
      const scored = score(TRACES, withOut).split('\n');
      const plainScore = score(TRACES, withoutOut).split('\n');
      // the first line names the decisions file; the rest is the score
      const differing = scored
        .slice(1)
        .flatMap((line, index) =>
          line === plainScore[index + 1] ? [] : [`  without: ${plainScore[index + 1]}`, `  with:    ${line}`],
        );
      console.log(
        `\nscore.py, with and without the monitor: ${differing.length === 0 ? 'identical' : 'lines that differ:'}`,
      );
      for (const line of differing) console.log(line);
      console.log(`\n${plainScore.slice(1).join('\n')}`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
