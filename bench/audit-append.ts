/**
 * @module bench/audit-append
 * One durable audit append at a time, as a single call through the gateway waits for it (twice): the
 * ways the SQLite audit log can write it, measured in one process, taking turns in blocks so drift on
 * the machine hits them alike:
 * - `causal` (the default, decision 0028): a lone intent committed on the calling thread and the WAL
 *   fsync'd in the thread pool; a lone outcome (`syncLater`) answered once committed;
 * - `full`, writer thread: every batch goes to the writer thread;
 * - `full`, inline when idle: a lone event is written on the calling thread (`inlineMaxBatch: 1`);
 * - both with `durability: 'process'` (synchronous=NORMAL: no fsync per commit; survives a crash
 *   of the process, not of the machine), labelled as the weaker mode it is;
 * and, for scale, a raw 512-byte write + fsync in the same directory.
 *
 * Run: npm run bench:audit-append [-- <appends per mode>]   (default 3,000)
 */
import { generateKeyPairSync } from 'node:crypto';
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointSigner } from '../src/audit/checkpoint.js';
import { SqliteAuditLog, type SqliteAuditLogOptions } from '../src/store/sqlite/sqlite-audit-log.js';
import { intentEvent, outcomeEvent } from '../test/support/audit-fixtures.js';
import { format, machine, type Summary, summarise } from './measure.js';

const CALLS = Number(process.argv[2] ?? 3_000);
const WARMUP = 200;
const BLOCK = 500;
const write = (line: string) => process.stdout.write(`${line}\n`);

const directory = mkdtempSync(join(tmpdir(), 'reins-audit-append-'));
process.on('exit', () => rmSync(directory, { recursive: true, force: true }));
const signer = new CheckpointSigner(generateKeyPairSync('ed25519').privateKey);

interface Mode {
  readonly label: string;
  readonly options: Partial<SqliteAuditLogOptions>;
}
const MODES: readonly Mode[] = [
  {
    label:
      'durability causal (the default): intent inline + WAL fsync in the thread pool; outcome answered once committed',
    options: {},
  },
  { label: 'durability full, writer thread for every batch', options: { durability: 'full' } },
  {
    label: 'durability full, lone events inline when the writer is idle (inlineMaxBatch: 1; not used)',
    options: { durability: 'full', inlineMaxBatch: 1 },
  },
  {
    label: 'durability process (synchronous=NORMAL; NOT the default), lone events inline',
    options: { durability: 'process' },
  },
  {
    label: 'durability process (NOT the default), writer thread for every batch',
    options: { durability: 'process', inlineMaxBatch: 0 },
  },
];

function rawFsync(iterations: number): Summary {
  const file = join(directory, 'fsync-probe');
  const descriptor = openSync(file, 'a');
  const record = Buffer.alloc(512, 0x61);
  const samples = new Float64Array(iterations);
  for (let index = -WARMUP; index < iterations; index++) {
    const started = process.hrtime.bigint();
    writeSync(descriptor, record);
    fsyncSync(descriptor);
    if (index >= 0) samples[index] = Number(process.hrtime.bigint() - started) / 1_000;
  }
  closeSync(descriptor);
  return summarise(samples);
}

write(`machine: ${machine()}`);
write(`command: npm run bench:audit-append -- ${CALLS}`);
write(
  `inputs: ${CALLS} calls per mode after ${WARMUP} warm-up, each an intent then an outcome append awaited one after the other (as the harness does); signed checkpoints every 1,000 records; modes take turns in blocks of ${BLOCK}; ${directory}`,
);

const logs = MODES.map(
  (mode, index) =>
    new SqliteAuditLog({ path: join(directory, `audit-${index}.db`), signer, ...mode.options }),
);
const samples = MODES.map(() => new Float64Array(CALLS));
const cpu = MODES.map(() => 0);
let counter = 0;
async function oneCall(log: SqliteAuditLog): Promise<number> {
  const index = counter++;
  const started = process.hrtime.bigint();
  await log.append(intentEvent(index, { sessionId: 'bench', agentId: 'bench' }));
  // as the harness appends it: `causal` answers once committed (the others ignore it)
  await log.append(outcomeEvent(index, 'ok', { sessionId: 'bench', agentId: 'bench' }), { syncLater: true });
  return Number(process.hrtime.bigint() - started) / 1_000;
}
for (const log of logs) for (let index = 0; index < WARMUP; index++) await oneCall(log);
for (let offset = 0; offset < CALLS; offset += BLOCK) {
  for (const [which, log] of logs.entries()) {
    const into = samples[which] as Float64Array;
    const before = process.cpuUsage();
    for (let index = offset; index < Math.min(CALLS, offset + BLOCK); index++)
      into[index] = await oneCall(log);
    const used = process.cpuUsage(before);
    cpu[which] = (cpu[which] as number) + used.user + used.system;
  }
}
for (const log of logs) await log.close();
const fsync = rawFsync(CALLS);

write('');
write('| mode | calls | median µs (intent + outcome) | p99 µs | process CPU µs per call (all threads) |');
write('| --- | ---: | ---: | ---: | ---: |');
for (const [which, mode] of MODES.entries()) {
  const summary = summarise(samples[which] as Float64Array);
  write(
    `| ${mode.label} | ${summary.samples} | ${format(summary.medianUs, 1)} | ${format(summary.p99Us, 1)} | ${format((cpu[which] as number) / CALLS, 0)} |`,
  );
}
write(
  `| for scale: one raw 512-byte write + fsync in the same directory | ${fsync.samples} | ${format(fsync.medianUs, 1)} | ${format(fsync.p99Us, 1)} | |`,
);
