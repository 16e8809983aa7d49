/**
 * @module bench/postgres-append
 * `npm run bench:postgres -- [--events N] [--log N] [--quick]`: the PostgreSQL audit store.
 * - durable append throughput (synchronous_commit as the server has it, `on` by default), many appends
 *   in flight (chunks of 2,000), for several batch sizes, with and without the query indexes, and with
 *   two logs (two connections, as two processes would) appending at once;
 * - verification throughput and query latency (a session of 1,000 events) in a log of `--log` events.
 * Needs a server: REINS_TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test. Every run
 * works in fresh schemas and drops them.
 */
import { randomBytes } from 'node:crypto';
import { Client, escapeIdentifier } from 'pg';
import type { AuditLog } from '../src/store/audit-log.js';
import { PostgresAuditLog } from '../src/store/postgres/postgres-audit-log.js';
import { intentEvent } from '../test/support/audit-fixtures.js';
import { format, machine, summarise } from './measure.js';

const DATABASE_URL = process.env.REINS_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const CHUNK = 2_000;
const QUERY_INDEXES = [
  'audit_events_session',
  'audit_events_agent',
  'audit_events_tool',
  'audit_events_time',
];

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
  if (!Number.isFinite(value) || value < 1) throw new Error(`${name} needs a positive number`);
  return value;
}

const quick = process.argv.includes('--quick');
const appendEvents = argument('--events', quick ? 20_000 : 100_000);
const logEvents = argument('--log', quick ? 100_000 : 1_000_000);
const write = (line: string) => process.stdout.write(`${line}\n`);

const admin = new Client({ connectionString: DATABASE_URL });
await admin.connect();
const schemas: string[] = [];

async function freshSchema(): Promise<string> {
  const schema = `reins_bench_${randomBytes(6).toString('hex')}`;
  schemas.push(schema);
  return schema;
}

/** The event appended at position `index` of a benchmark run: one session in 1,000 is the needle. */
function event(index: number) {
  return intentEvent(index, {
    sessionId: index % 1_000 === 0 ? 'needle' : `session-${index % 997}`,
    agentId: `agent-${index % 50}`,
  });
}

/** Appends `count` events to the logs in turn, `CHUNK` in flight at once per log; events per second. */
async function appendAll(logs: readonly AuditLog[], count: number, offset = 0): Promise<number> {
  const started = process.hrtime.bigint();
  const perLog = Math.ceil(count / logs.length);
  await Promise.all(
    logs.map(async (log, which) => {
      const first = offset + which * perLog;
      const last = Math.min(offset + count, first + perLog);
      for (let start = first; start < last; start += CHUNK) {
        const end = Math.min(last, start + CHUNK);
        const appends: Promise<unknown>[] = [];
        for (let index = start; index < end; index++) appends.push(log.append(event(index)));
        await Promise.all(appends);
      }
    }),
  );
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function appendRun(options: { maxBatch: number; indexes: boolean; writers: number }): Promise<number> {
  const schema = await freshSchema();
  const logs: AuditLog[] = [];
  for (let index = 0; index < options.writers; index++) {
    logs.push(
      await PostgresAuditLog.open({ connectionString: DATABASE_URL, schema, maxBatch: options.maxBatch }),
    );
  }
  if (!options.indexes) {
    for (const index of QUERY_INDEXES) {
      await admin.query(`drop index ${escapeIdentifier(schema)}.${escapeIdentifier(index)}`);
    }
  }
  await appendAll(logs, Math.min(appendEvents, 10_000), 0); // warm-up (JIT, connections, plans)
  const rate = await appendAll(logs, appendEvents, 10_000);
  for (const log of logs) await log.close();
  await admin.query(`drop schema ${escapeIdentifier(schema)} cascade`);
  return rate;
}

const settings = await admin.query<{ name: string; setting: string }>(
  `select name, setting from pg_settings
   where name in ('synchronous_commit', 'fsync', 'wal_sync_method', 'shared_buffers', 'full_page_writes')
   order by name`,
);
const version = await admin.query<{ version: string }>('select version()');
write(`command: npm run bench:postgres -- ${process.argv.slice(2).join(' ')}`.trim());
write(`machine: ${machine()}`);
write(`server: ${version.rows[0]?.version ?? 'unknown'} at ${new URL(DATABASE_URL).host}`);
write(`settings: ${settings.rows.map((row) => `${row.name}=${row.setting}`).join(', ')}`);
write('');
write(
  `## Durable append throughput (${appendEvents.toLocaleString('en')} events, ${CHUNK} appends in flight per log)`,
);
write('');
write('| maxBatch | query indexes | writers (logs in this process) | events/s |');
write('| ---: | --- | ---: | ---: |');
const runs = [
  { maxBatch: 64, indexes: true, writers: 1 },
  { maxBatch: 256, indexes: true, writers: 1 },
  { maxBatch: 512, indexes: true, writers: 1 },
  { maxBatch: 2_048, indexes: true, writers: 1 },
  { maxBatch: 512, indexes: false, writers: 1 },
  { maxBatch: 512, indexes: true, writers: 2 },
];
for (const run of quick ? runs.filter((candidate) => candidate.maxBatch === 512) : runs) {
  const rate = await appendRun(run);
  write(`| ${run.maxBatch} | ${run.indexes ? 'yes' : 'no'} | ${run.writers} | ${format(rate, 0)} |`);
}

write('');
write(`## A log of ${logEvents.toLocaleString('en')} events (default options: maxBatch 512, query indexes)`);
write('');
const schema = await freshSchema();
const log = await PostgresAuditLog.open({ connectionString: DATABASE_URL, schema });
const fillRate = await appendAll([log], logEvents);
write(`- filled at ${format(fillRate, 0)} events/s`);
await admin.query(`vacuum analyze ${escapeIdentifier(schema)}.audit_events`);
const size = await admin.query<{ size: string }>(
  `select pg_size_pretty(pg_total_relation_size($1)) as size`,
  [`${escapeIdentifier(schema)}.audit_events`],
);
write(`- table with indexes: ${size.rows[0]?.size ?? '?'}`);

const verifyStarted = process.hrtime.bigint();
const report = await log.verify();
const verifySeconds = Number(process.hrtime.bigint() - verifyStarted) / 1e9;
if (!report.ok || report.checked !== logEvents)
  throw new Error(`verification failed: ${JSON.stringify(report)}`);
write(`- verify: ${format(report.checked / verifySeconds, 0)} events/s (${format(verifySeconds, 1)} s)`);

const samples: number[] = [];
for (let round = 0; round < 220; round++) {
  const started = process.hrtime.bigint();
  const found = await log.query({ sessionId: 'needle' });
  const elapsed = Number(process.hrtime.bigint() - started) / 1_000;
  if (found.length !== Math.ceil(logEvents / 1_000)) throw new Error(`needle query found ${found.length}`);
  if (round >= 20) samples.push(elapsed); // the first 20 warm the cache and the plan
}
const latency = summarise(samples);
write(
  `- query one session (${Math.ceil(logEvents / 1_000)} events, parsed): median ${format(latency.medianUs / 1_000)} ms, p99 ${format(latency.p99Us / 1_000)} ms (${latency.samples} queries)`,
);
const small: number[] = [];
for (let round = 0; round < 220; round++) {
  const started = process.hrtime.bigint();
  await log.query({ sessionId: 'needle', limit: 10, afterSeq: Math.floor(logEvents / 2) });
  if (round >= 20) small.push(Number(process.hrtime.bigint() - started) / 1_000);
}
const smallLatency = summarise(small);
write(
  `- query a page of 10 of it from the middle: median ${format(smallLatency.medianUs / 1_000)} ms, p99 ${format(smallLatency.p99Us / 1_000)} ms`,
);
await log.close();

for (const name of schemas) await admin.query(`drop schema if exists ${escapeIdentifier(name)} cascade`);
await admin.end();
