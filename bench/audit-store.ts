/**
 * @module bench/audit-store
 * The embedded audit store on its own: durable batched append throughput (with signed checkpoints),
 * chain verification throughput, and query latency for one session of 1,000 events in a large log.
 * Run: npm run bench:audit -- [events]   (default 1,000,000)
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointSigner } from '../src/audit/checkpoint.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { intentEvent } from '../test/support/audit-fixtures.js';
import { format, machine, summarise } from './measure.js';

const total = Number(process.argv[2] ?? 1_000_000);
const SESSION_EVENTS = 1_000;
const CHUNK = 4_096;
const write = (line: string) => process.stdout.write(`${line}\n`);

const directory = mkdtempSync(join(tmpdir(), 'reins-audit-bench-'));
const keys = generateKeyPairSync('ed25519');
const log = new SqliteAuditLog({
  path: join(directory, 'audit.db'),
  signer: new CheckpointSigner(keys.privateKey),
  maxBatch: 1_024,
});

write(`machine: ${machine()}`);
write(`command: npm run bench:audit -- ${total}`);
// one session of 1,000 events spread evenly through the log; the rest over 10,000 other sessions
const every = Math.floor(total / SESSION_EVENTS);
// Events come from a prebuilt pool (this measures the store, not the fixture builder), and appends
// stream in: chunk k+1 is handed in while chunk k is being written, as a gateway's calls would be.
const pool = Array.from({ length: CHUNK }, (_, index) =>
  intentEvent(index, { sessionId: `session-${index % 10_000}`, agentId: `agent-${index % 100}` }),
);
const sessionPool = Array.from({ length: SESSION_EVENTS }, (_, index) =>
  intentEvent(index, { sessionId: 'the-session', agentId: 'agent-1' }),
);
const started = process.hrtime.bigint();
let previous: Promise<unknown> = Promise.resolve();
for (let offset = 0; offset < total; offset += CHUNK) {
  const chunk: Promise<unknown>[] = [];
  for (let index = offset; index < Math.min(total, offset + CHUNK); index++) {
    const event = index % every === 0 ? sessionPool[(index / every) % SESSION_EVENTS] : pool[index % CHUNK];
    chunk.push(log.append(event as (typeof pool)[number]));
  }
  await previous;
  previous = Promise.all(chunk);
}
await previous;
const appendNs = process.hrtime.bigint() - started;
const appendSeconds = Number(appendNs) / 1e9;
write(
  `append: ${total} events in ${format(appendSeconds)} s = ${Math.round(total / appendSeconds)} events/s (durable, WAL synchronous=FULL, batches of up to 1,024, checkpoint every 1,000)`,
);

let verifyStarted = process.hrtime.bigint();
const report = await log.verify({ publicKey: keys.publicKey });
const verifySeconds = Number(process.hrtime.bigint() - verifyStarted) / 1e9;
if (!report.ok) throw new Error(`verify failed: ${JSON.stringify(report.firstBad)}`);
write(
  `verify: ${report.checked} events, ${report.checkpointsVerified} signed checkpoints in ${format(verifySeconds)} s = ${Math.round(report.checked / verifySeconds)} events/s`,
);

// the peer: the same log verified by one thread
const single = new SqliteAuditLog({
  path: join(directory, 'audit.db'),
  readOnly: true,
  parallelVerifyMin: Number.MAX_SAFE_INTEGER,
});
verifyStarted = process.hrtime.bigint();
const singleReport = await single.verify({ publicKey: keys.publicKey });
const singleSeconds = Number(process.hrtime.bigint() - verifyStarted) / 1e9;
await single.close();
if (!singleReport.ok) throw new Error('single-thread verify failed');
write(
  `verify, one thread (peer): ${Math.round(singleReport.checked / singleSeconds)} events/s; two threads are ${format(singleSeconds / verifySeconds)}x faster`,
);

verifyStarted = process.hrtime.bigint();
const first = await log.query({ sessionId: 'the-session', limit: 10_000 });
const firstMs = Number(process.hrtime.bigint() - verifyStarted) / 1e6;
if (first.length !== SESSION_EVENTS)
  throw new Error(`expected ${SESSION_EVENTS} events, got ${first.length}`);
write(
  `query (first, includes bringing the query index up to date with ${total} events): ${format(firstMs, 1)} ms`,
);
const samples: number[] = [];
for (let round = 0; round < 200; round++) {
  const queryStarted = process.hrtime.bigint();
  const result = await log.query({ sessionId: 'the-session', limit: 10_000 });
  samples.push(Number(process.hrtime.bigint() - queryStarted) / 1e3);
  if (result.length !== SESSION_EVENTS) throw new Error('query result changed');
}
const warm = summarise(samples);
write(
  `query (index up to date): session of ${SESSION_EVENTS} events in a ${total}-event log: median ${format(warm.medianUs / 1000)} ms, p99 ${format(warm.p99Us / 1000)} ms (200 queries)`,
);
// the peer: the same question answered by scanning the searchable columns without an index
verifyStarted = process.hrtime.bigint();
const scanned = await new SqliteAuditLog({ path: join(directory, 'audit.db'), readOnly: true }).query({
  sessionId: 'the-session',
  limit: 10_000,
});
write(
  `query without index (read-only scan, the baseline): ${format(Number(process.hrtime.bigint() - verifyStarted) / 1e6, 1)} ms for ${scanned.length} events`,
);
await log.close();
rmSync(directory, { recursive: true, force: true });
