/**
 * @module bench/telemetry-cost
 * What metrics and tracing cost a call (issue 17): the full pipeline (`Harness.call`: decide, intent,
 * execute, filter, outcome) on an SQLite audit log, one call at a time, in three configurations run in
 * the same process, taking turns by block so that drift on the machine falls on all of them alike:
 *
 * - `bare`: no call observer, no commit hook, no tracer (what the harness is without issue 17), twice:
 *   the second, identical one says how far two runs of the same thing differ here (an A/A control);
 * - `metrics, tracing off`: what every gateway process now runs: the Prometheus call observer and the
 *   audit log's commit hook feeding a `ReinsMetrics` registry, and no tracer;
 * - `metrics + tracing`: the same, plus a tracer from `startTracing` (every call sampled, a span per
 *   stage, batched and exported over OTLP/HTTP to a receiver in a child process that discards them).
 *   Tracing is started for its block and shut down after it, because its context manager
 *   (AsyncLocalStorage) is global: the other blocks run with nothing registered, as a process without
 *   tracing does.
 *
 * The audit logs use `durability: process` (no fsync): a commit's fsync (~0.2 ms here) would bury
 * differences of a few µs in its noise; what is measured is the CPU path the telemetry adds to.
 *
 * Run: npm run bench:telemetry [-- --quick]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Tracer } from '@opentelemetry/api';
import { Harness } from '../src/harness/harness.js';
import type { CallRequest, ToolExecutor } from '../src/harness/types.js';
import { compilePolicy } from '../src/policy/compile-policy.js';
import type { PreparedPolicy } from '../src/policy/prepared-policy.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { ReinsMetrics } from '../src/telemetry/metrics.js';
import { startTracing, type Tracing } from '../src/telemetry/tracing.js';
import { format, machine, percentile, type Summary, summarise } from './measure.js';

const QUICK = process.argv.includes('--quick');
const ROUNDS = QUICK ? 3 : 100;
const CALLS_PER_BLOCK = QUICK ? 500 : 500;
const WARMUP_CALLS = QUICK ? 500 : 5_000;

const POLICY_TEXT = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: telemetry-bench }
tools:
  - { server: crm, name: "db.select", risk: low, effects: [read] }
rules:
  - id: reads
    effect: allow
    principal: { agents: "agent-*" }
    tool: { name: db.select }
    when: 'args.table in ["customers", "orders", "tickets"]'
    reason: agents read three tables
limits:
  - { id: per-session, per: [session], window: 1m, max: 100000000, reason: generous session cap }
`;

const executor: ToolExecutor = async (args) => ({ rows: [{ table: args.table, id: 1 }] });

function request(index: number): CallRequest {
  return {
    principal: { agentId: `agent-${index % 16}` },
    sessionId: `session-${index % 16}`,
    tool: { server: 'crm', name: 'db.select' },
    args: { table: 'customers', id: index },
  };
}

/** Where a traced configuration exports, and the tracing started for its current block. */
interface TracedBlocks {
  readonly endpoint: string;
  current: Tracing | undefined;
}

interface Variant {
  readonly label: string;
  readonly harness: Harness;
  readonly audit: SqliteAuditLog;
  /** Tracing, started around each of its blocks. */
  readonly traced?: TracedBlocks;
  readonly samples: number[];
}

function policy(): PreparedPolicy {
  const compiled = compilePolicy([{ file: 'telemetry-bench.yaml', text: POLICY_TEXT }]);
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.problems.slice(0, 3)));
  return compiled.policy;
}

function variant(label: string, metrics: ReinsMetrics | undefined, endpoint?: string): Variant {
  const audit = new SqliteAuditLog({
    path: ':memory:',
    durability: 'process',
    ...(metrics ? { onCommit: (commit) => metrics.observeAuditCommit(commit) } : {}),
  });
  const traced: TracedBlocks | undefined =
    endpoint === undefined ? undefined : { endpoint, current: undefined };
  const harness = new Harness({
    policy: { current: policy() },
    audit,
    ...(metrics ? { observer: metrics } : {}),
    // the tracer is looked up per call through this object, so each block's fresh provider is used
    ...(traced ? { tracer: tracerOf(traced) } : {}),
  });
  return { label, harness, audit, ...(traced ? { traced } : {}), samples: [] };
}

/** A Tracer that forwards to the tracing started for the current block. */
function tracerOf(traced: TracedBlocks): Tracer {
  const current = (): Tracer => {
    if (traced.current === undefined) throw new Error('tracing not started for this block');
    return traced.current.tracer;
  };
  return {
    startSpan: (...args) => current().startSpan(...args),
    startActiveSpan: ((...args: Parameters<Tracer['startActiveSpan']>) =>
      (current().startActiveSpan as (...a: unknown[]) => unknown)(...args)) as Tracer['startActiveSpan'],
  };
}

async function block(target: Variant, calls: number, record: boolean, offset: number): Promise<void> {
  if (target.traced)
    target.traced.current = startTracing({
      endpoint: target.traced.endpoint,
      headers: {},
      sampleRatio: 1,
      serviceName: 'reins-bench',
    });
  try {
    for (let index = 0; index < calls; index++) {
      const started = process.hrtime.bigint();
      const result = await target.harness.call(request(offset + index), executor);
      const elapsedUs = Number(process.hrtime.bigint() - started) / 1_000;
      if (result.status !== 'ok') throw new Error(`${target.label}: call ${index} ended ${result.status}`);
      if (record) target.samples.push(elapsedUs);
    }
  } finally {
    await target.traced?.current?.shutdown();
    if (target.traced) target.traced.current = undefined;
  }
}

/** An OTLP/HTTP receiver in its own process, answering every export with 200 and counting them. */
async function startSink(): Promise<{ endpoint: string; child: ChildProcess; exports: () => number }> {
  const script = `
    const http = require('node:http');
    let count = 0;
    process.on('message', () => process.send({ count }));
    http.createServer((req, res) => { req.resume(); req.on('end', () => { count++; res.writeHead(200, { 'content-type': 'application/json' }); res.end('{}'); }); })
      .listen(0, '127.0.0.1', function () { process.send({ port: this.address().port }); });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let last = 0;
  const port = await new Promise<number>((resolve) =>
    child.once('message', (message: { port: number }) => resolve(message.port)),
  );
  child.on('message', (message: { count?: number }) => {
    if (typeof message.count === 'number') last = message.count;
  });
  return {
    endpoint: `http://127.0.0.1:${port}/v1/traces`,
    child,
    exports: () => last,
  };
}

async function exportsReceived(sink: { child: ChildProcess; exports: () => number }): Promise<number> {
  sink.child.send('count');
  await new Promise((resolve) => setTimeout(resolve, 200));
  return sink.exports();
}

function row(label: string, summary: Summary, bare: Summary): string {
  const extra = summary.medianUs - bare.medianUs;
  return `| ${label} | ${summary.samples} | ${format(summary.medianUs, 1)} | ${format(summary.p99Us, 1)} | ${extra >= 0 ? '+' : ''}${format(extra, 1)} | ${format(summary.medianUs / bare.medianUs, 3)} |`;
}

async function main(): Promise<void> {
  const sink = await startSink();
  const variants = [
    variant('bare (no observer, no tracer)', undefined),
    // the same configuration again: how far two identical harnesses differ in this run (the noise floor)
    variant('bare again (A/A control)', undefined),
    variant('metrics, tracing off (the default)', new ReinsMetrics()),
    variant('metrics + tracing (every call sampled, OTLP/HTTP)', new ReinsMetrics(), sink.endpoint),
  ];
  try {
    for (const each of variants) await block(each, WARMUP_CALLS, false, 0);
    let offset = WARMUP_CALLS;
    for (let round = 0; round < ROUNDS; round++) {
      // the order turns each round, so no variant always runs right after the same other one
      for (let turn = 0; turn < variants.length; turn++) {
        const each = variants[(round + turn) % variants.length] as Variant;
        await block(each, CALLS_PER_BLOCK, true, offset);
      }
      offset += CALLS_PER_BLOCK;
    }
    const [bare] = variants.map((each) => summarise(each.samples)) as [Summary];
    console.log(`machine: ${machine()}`);
    console.log(`${ROUNDS} rounds x ${CALLS_PER_BLOCK} calls per configuration, one call at a time\n`);
    console.log('| configuration | calls | median µs | p99 µs | median − bare µs | median / bare |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
    for (const each of variants) console.log(row(each.label, summarise(each.samples), bare));
    // the machine drifts during a run (and the logs grow): compare each block with the bare block of
    // the same round, and summarise those paired differences
    const bareBlocks = blockMediansOf(variants[0] as Variant);
    console.log('\nPaired by round (block median − bare block median of the same round), µs:');
    console.log('| configuration | median | 25th percentile | 75th percentile |');
    console.log('| --- | ---: | ---: | ---: |');
    for (const each of variants.slice(1)) {
      const differences = blockMediansOf(each).map((value, round) => value - (bareBlocks[round] as number));
      const sorted = Float64Array.from(differences).sort();
      console.log(
        `| ${each.label} | ${format(percentile(sorted, 50), 1)} | ${format(percentile(sorted, 25), 1)} | ${format(percentile(sorted, 75), 1)} |`,
      );
    }
    console.log(`OTLP export requests received by the sink: ${await exportsReceived(sink)}`);
    console.log(
      `\nthe metrics' own work per call, timed alone (one call observed, two commits): ${format(metricsWorkPerCallUs(), 2)} µs`,
    );
  } finally {
    for (const each of variants) await each.audit.close();
    sink.child.kill();
  }
}

/**
 * What the metrics do per call, without the call around it: the observation of one call and of the two
 * commits of its records, as the harness and the audit log hand them over (median of 20 batches).
 */
function metricsWorkPerCallUs(): number {
  const metrics = new ReinsMetrics({ defaultMetrics: false });
  const call = {
    effect: 'allow' as const,
    decidedBy: ['reads'],
    outcome: 'ok',
    decisionSeconds: 5e-5,
    durationSeconds: 1e-4,
  };
  const commit = { items: 1, seconds: 2e-5, ok: true };
  const batch = 20_000;
  const perCall: number[] = [];
  for (let round = 0; round < 20; round++) {
    const started = process.hrtime.bigint();
    for (let index = 0; index < batch; index++) {
      metrics.observeCall(call);
      metrics.observeAuditCommit(commit);
      metrics.observeAuditCommit(commit);
    }
    perCall.push(Number(process.hrtime.bigint() - started) / 1_000 / batch);
  }
  return summarise(perCall).medianUs;
}

function blockMediansOf(target: Variant): number[] {
  const medians: number[] = [];
  for (let start = 0; start < target.samples.length; start += CALLS_PER_BLOCK)
    medians.push(summarise(target.samples.slice(start, start + CALLS_PER_BLOCK)).medianUs);
  return medians;
}

await main();
