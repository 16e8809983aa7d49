/**
 * @module bench/pipeline-throughput
 * The full pipeline (decide, durable intent, execute, filter, durable outcome) with the embedded
 * SQLite audit log on disk (WAL, synchronous=FULL), driven by many concurrent callers so that group
 * commit can batch. Peers in the same run: the same tool called directly (no governance), and the
 * pipeline driven by one caller at a time (one flush per call: what group commit saves).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Harness } from '../src/harness/harness.js';
import type { CallRequest, ToolExecutor } from '../src/harness/types.js';
import { compilePolicy } from '../src/policy/compile-policy.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { format, type Summary, summarise } from './measure.js';

const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: pipeline-bench }
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
  - { id: per-session, per: [session], window: 1m, max: 1000000, reason: generous session cap }
`;

export interface ThroughputResult {
  readonly label: string;
  readonly calls: number;
  readonly concurrency: number;
  readonly callsPerSecond: number;
  readonly latency: Summary;
  readonly auditRecords: number;
}

/** A tool that does a little work and yields, like a fast in-process tool. */
const executor: ToolExecutor = async (args) => ({ rows: [{ table: args.table, id: 1 }] });

function request(index: number): CallRequest {
  return {
    principal: { agentId: `agent-${index % 16}` },
    sessionId: `session-${index % 16}`,
    tool: { server: 'crm', name: 'db.select' },
    args: { table: 'customers', id: index },
  };
}

async function drive(
  calls: number,
  concurrency: number,
  run: (index: number) => Promise<void>,
): Promise<{ seconds: number; latency: Summary }> {
  const latencies = new Float64Array(calls);
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < calls) {
        const index = next++;
        const callStarted = process.hrtime.bigint();
        await run(index);
        latencies[index] = Number(process.hrtime.bigint() - callStarted) / 1_000;
      }
    }),
  );
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, latency: summarise(latencies) };
}

export async function governed(
  calls: number,
  concurrency: number,
  label: string,
  auditOptions: { maxBatch?: number; maxInFlight?: number } = {},
): Promise<ThroughputResult> {
  const directory = mkdtempSync(join(tmpdir(), 'reins-bench-'));
  const audit = new SqliteAuditLog({ path: join(directory, 'audit.db'), ...auditOptions });
  const compiled = compilePolicy([{ file: 'bench.yaml', text: POLICY }]);
  if (!compiled.ok) throw new Error('bench policy invalid');
  const harness = new Harness({ policy: { current: compiled.policy }, audit, maxSessionHistory: calls + 1 });
  const { seconds, latency } = await drive(calls, concurrency, async (index) => {
    const result = await harness.call(request(index), executor);
    if (result.status !== 'ok') throw new Error(`call ${index} was ${result.status}`);
  });
  const report = await audit.verify();
  await audit.close();
  rmSync(directory, { recursive: true, force: true });
  if (!report.ok || report.checked !== 2 * calls)
    throw new Error(`audit incomplete: ${JSON.stringify(report)}`);
  return {
    label,
    calls,
    concurrency,
    callsPerSecond: calls / seconds,
    latency,
    auditRecords: report.checked,
  };
}

async function direct(calls: number, concurrency: number): Promise<ThroughputResult> {
  const { seconds, latency } = await drive(calls, concurrency, async (index) => {
    await executor(request(index).args ?? {}, {
      signal: new AbortController().signal,
      decisionId: `direct-${index}`,
    });
  });
  return {
    label: 'tool called directly (no governance)',
    calls,
    concurrency,
    callsPerSecond: calls / seconds,
    latency,
    auditRecords: 0,
  };
}

/** Runs `measure` `repeat` times and keeps the run with the median throughput (the machine is noisy). */
async function medianOf(repeat: number, measure: () => Promise<ThroughputResult>): Promise<ThroughputResult> {
  const runs: ThroughputResult[] = [];
  for (let index = 0; index < repeat; index++) runs.push(await measure());
  runs.sort((left, right) => left.callsPerSecond - right.callsPerSecond);
  return runs[Math.floor(runs.length / 2)] as ThroughputResult;
}

export async function benchmarkPipeline(calls: number, repeat = 3): Promise<ThroughputResult[]> {
  const results: ThroughputResult[] = [];
  results.push(await medianOf(repeat, () => direct(calls, 128)));
  for (const callers of [64, 128, 256]) {
    results.push(
      await medianOf(repeat, () =>
        governed(calls, callers, `Harness + SQLite audit, ${callers} concurrent callers`),
      ),
    );
  }
  const sequentialCalls = Math.min(calls, 5_000);
  results.push(await governed(sequentialCalls, 1, 'Harness + SQLite audit, 1 caller (a flush per record)'));
  return results;
}

export function printPipelineRows(results: readonly ThroughputResult[], write: (line: string) => void): void {
  write('| run | calls | concurrency | calls/s | median µs/call | p99 µs/call | audit records |');
  write('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const result of results) {
    write(
      `| ${result.label} | ${result.calls} | ${result.concurrency} | ${Math.round(result.callsPerSecond)} | ${format(result.latency.medianUs, 1)} | ${format(result.latency.p99Us, 1)} | ${result.auditRecords} |`,
    );
  }
  const grouped = results[2];
  const sequential = results.at(-1);
  if (grouped && sequential) {
    write('');
    write(
      `group commit vs one flush per record: ${format(grouped.callsPerSecond / sequential.callsPerSecond, 1)}x calls/s`,
    );
  }
}
