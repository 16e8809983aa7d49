/**
 * @module bench/approval-delay
 * How long after a human's vote the held call resumes in ANOTHER process: the issue-6 acceptance
 * figure. A child process holds calls on the store (test/support/approval-holder-process); this
 * process casts each vote through the Oversight service on its own connection and reads the time the
 * child's call completed. Measured on PostgreSQL (LISTEN/NOTIFY) and on the embedded SQLite file
 * (polling `data_version` every 25 ms), same machine, same clock.
 *   npm run bench:approvals   (needs the local PostgreSQL; REINS_BENCH_DATABASE_URL overrides)
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from 'pg';
import { StoreOversight } from '../src/oversight/store-oversight.js';
import { PostgresAuditLog } from '../src/store/postgres/postgres-audit-log.js';
import { PostgresIdentityStore } from '../src/store/postgres/postgres-identity-store.js';
import { PostgresOversightStore } from '../src/store/postgres/postgres-oversight-store.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { SqliteIdentityStore } from '../src/store/sqlite/sqlite-identity-store.js';
import { SqliteOversightStore } from '../src/store/sqlite/sqlite-oversight-store.js';
import { format, machine, summarise } from './measure.js';

const DATABASE_URL = process.env.REINS_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const CALLS = 60;
const WARMUP = 5;
const HOLDER = resolve(import.meta.dirname, '../test/support/approval-holder-process.js');

interface Backend {
  readonly name: string;
  readonly target: string;
  readonly schema: string;
  open(): Promise<{ oversight: StoreOversight; close(): Promise<void> }>;
  destroy(): Promise<void>;
}

async function measure(backend: Backend): Promise<number[]> {
  const { oversight, close } = await backend.open();
  const child = spawn(process.execPath, [HOLDER, backend.target, backend.schema, String(CALLS + WARMUP)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (prefix: string): Promise<string[]> => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`holder process ended while waiting for \`${prefix}\``);
    const parts = String(value).split(' ');
    if (parts[0] !== prefix) throw new Error(`holder said \`${value}\`, expected \`${prefix}\``);
    return parts;
  };
  const delays: number[] = [];
  try {
    for (let index = 0; index < CALLS + WARMUP; index++) {
      const [, id] = await next('held');
      const votedAt = performance.timeOrigin + performance.now();
      await oversight.voteApproval(
        id as string,
        { id: 'ann', roles: ['approver'] },
        { approved: true, reason: 'bench' },
      );
      const [, doneId, at] = await next('done');
      if (doneId !== id) throw new Error(`resumed ${doneId}, voted on ${id}`);
      if (index >= WARMUP) delays.push((Number(at) - votedAt) * 1000);
      child.stdin.write('next\n');
    }
  } finally {
    child.stdin.end();
    await new Promise((done) => child.once('exit', done));
    await close();
    await backend.destroy();
  }
  return delays;
}

function postgresBackend(): Backend {
  const schema = `reins_bench_${randomBytes(6).toString('hex')}`;
  return {
    name: 'PostgreSQL (LISTEN/NOTIFY)',
    target: DATABASE_URL,
    schema,
    async open() {
      const audit = await PostgresAuditLog.open({ connectionString: DATABASE_URL, schema });
      const identities = await PostgresIdentityStore.open({ connectionString: DATABASE_URL, schema });
      const stores = await PostgresOversightStore.open({ connectionString: DATABASE_URL, schema });
      const oversight = new StoreOversight({
        approvals: stores.approvals,
        sessions: stores.sessions,
        identities,
        audit,
      });
      return {
        oversight,
        close: async () => {
          await stores.close();
          await identities.close();
          await audit.close();
        },
      };
    },
    async destroy() {
      const client = new Client({ connectionString: DATABASE_URL });
      await client.connect();
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
    },
  };
}

function sqliteBackend(): Backend {
  const directory = mkdtempSync(join(tmpdir(), 'reins-bench-approvals-'));
  const path = join(directory, 'audit.db');
  return {
    name: 'SQLite file (polling, 25 ms)',
    target: path,
    schema: '-',
    async open() {
      const audit = new SqliteAuditLog({ path });
      const identities = new SqliteIdentityStore({ path });
      const stores = new SqliteOversightStore({ path });
      const oversight = new StoreOversight({
        approvals: stores.approvals,
        sessions: stores.sessions,
        identities,
        audit,
      });
      return {
        oversight,
        close: async () => {
          await stores.close();
          await identities.close();
          await audit.close();
        },
      };
    },
    async destroy() {
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

console.log(`# Approval delay across processes (${machine()})`);
console.log(
  `${CALLS} held calls per store after ${WARMUP} warm-up calls; delay = vote issued -> call resumed and ran in the other process.\n`,
);
console.log('| store | median ms | p99 ms | max ms |');
console.log('| --- | ---: | ---: | ---: |');
for (const backend of [postgresBackend(), sqliteBackend()]) {
  const delays = await measure(backend);
  const summary = summarise(delays);
  console.log(
    `| ${backend.name} | ${format(summary.medianUs / 1000)} | ${format(summary.p99Us / 1000)} | ${format(Math.max(...delays) / 1000)} |`,
  );
}
