/**
 * @module test/postgres-multi-writer.test
 * Two real processes append to one PostgreSQL audit log at the same time (the shared-store case the
 * backend exists for). Both start on a schema that does not exist yet, so they also race to create and
 * migrate it. Afterwards the log must be one gap-free chain holding both writers' records, interleaved.
 * Both sign checkpoints with the same key.
 * Postgres must be running (REINS_TEST_DATABASE_URL, default: local trust auth): unreachable fails.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { Client, escapeIdentifier } from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { ChainedRecord } from '../src/spec/audit-event.js';
import { PostgresAuditLog } from '../src/store/postgres/postgres-audit-log.js';

const DATABASE_URL = process.env.REINS_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROOT = resolve(import.meta.dirname, '..');
const WRITER = resolve(ROOT, 'test/support/postgres-writer-process.ts');
const PER_WRITER = 2_000;
const ROUND = 50;
const CHECKPOINT_EVERY = 100; // set in the writer process
const keys = generateKeyPairSync('ed25519');
const SIGNING_KEY = keys.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

interface Writer {
  readonly child: ChildProcessWithoutNullStreams;
  readonly ready: Promise<void>;
  readonly done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

function startWriter(schema: string, sessionId: string, offset: number): Writer {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      WRITER,
      DATABASE_URL,
      schema,
      sessionId,
      String(PER_WRITER),
      String(offset),
      String(ROUND),
    ],
    {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, REINS_TEST_SIGNING_KEY: SIGNING_KEY },
    },
  );
  let stdout = '';
  let stderr = '';
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (stdout.startsWith('ready\n')) markReady();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (code) => {
      markReady(); // never leave the test waiting on a writer that died before it was ready
      resolve({ code, stdout, stderr });
    });
  });
  return { child, ready, done };
}

describe('PostgreSQL audit log with two writer processes', () => {
  const schema = `reins_test_${randomBytes(6).toString('hex')}`;
  let admin: Client | undefined;

  afterAll(async () => {
    await admin?.query(`drop schema if exists ${escapeIdentifier(schema)} cascade`).catch(() => {});
    await admin?.end().catch(() => {});
  });

  it('forms one gap-free chain from interleaved batches of both', { timeout: 120_000 }, async () => {
    // inside the test, not in a hook: an unreachable server fails it rather than skipping it
    admin = new Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 5_000 });
    try {
      await admin.connect();
    } catch (error) {
      throw new Error(
        `PostgreSQL is not reachable at ${DATABASE_URL} (${error instanceof Error ? error.message : String(error)}): start it or set REINS_TEST_DATABASE_URL`,
      );
    }
    // the schema does not exist yet: both processes create and migrate it at once
    const writers = [startWriter(schema, 'writer-a', 0), startWriter(schema, 'writer-b', PER_WRITER)];
    await Promise.all(writers.map((writer) => writer.ready));
    for (const writer of writers) writer.child.stdin.end('go\n');
    const results = await Promise.all(writers.map((writer) => writer.done));
    for (const result of results) {
      expect(result.code, `writer failed:\n${result.stderr}\n${result.stdout}`).toBe(0);
    }

    // every append got its own position: together exactly 1..4,000
    const given = results.flatMap(
      (result) => (JSON.parse(result.stdout.split('\n').at(-2) ?? '{}') as { seqs: number[] }).seqs,
    );
    expect(given.sort((a, b) => a - b)).toEqual(Array.from({ length: 2 * PER_WRITER }, (_, i) => i + 1));

    const log = await PostgresAuditLog.open({ connectionString: DATABASE_URL, schema });
    try {
      // checkpoints signed by both processes, each over the head it had just committed
      const checkpoints = await log.checkpoints();
      const report = await log.verify({ publicKey: keys.publicKey });
      expect(report).toMatchObject({
        ok: true,
        checked: 2 * PER_WRITER,
        lastSeq: 2 * PER_WRITER,
        signaturesChecked: true,
        checkpointsVerified: checkpoints.length,
      });
      expect(checkpoints.at(-1)?.seq).toBe(2 * PER_WRITER); // the last writer to close signed the head
      for (const [index, checkpoint] of checkpoints.entries()) {
        const gap = checkpoint.seq - (checkpoints[index - 1]?.seq ?? 0);
        expect(gap).toBeGreaterThan(0);
        expect(gap).toBeLessThan(CHECKPOINT_EVERY + ROUND);
      }
      const records: ChainedRecord[] = [];
      for await (const record of log.records()) records.push(record);
      expect(records.map((record) => record.seq)).toEqual(
        Array.from({ length: 2 * PER_WRITER }, (_, i) => i + 1),
      );
      expect(records.filter((record) => record.sessionId === 'writer-a')).toHaveLength(PER_WRITER);
      expect(records.filter((record) => record.sessionId === 'writer-b')).toHaveLength(PER_WRITER);
      // the writers really ran at once: the chain switches between them many times, not once
      let switches = 0;
      for (let index = 1; index < records.length; index++) {
        if (records[index]?.sessionId !== records[index - 1]?.sessionId) switches++;
      }
      expect(switches).toBeGreaterThan(10);
    } finally {
      await log.close();
    }
  });
});
