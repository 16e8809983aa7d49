/**
 * @module bench/shared-state
 * What keeping the session state in the store costs a decision (issue 14, decision 0020), and what two
 * replicas on one PostgreSQL deliver.
 *
 * Part 1, one caller, per backend (SQLite file, PostgreSQL on 127.0.0.1): the decision stage's latency
 * (`decisionLatencyUs` of each intent: state read, rules, reservation) for four policies — stateless
 * (the peer), a limit, a sequence rule, both — with the limit counted in the store and, as the
 * in-memory peer in the same run, in this process (`MemoryCounterStore`). Also counted: the store
 * operations each decision adds (session-state reads, reservations) and, on PostgreSQL, the driver's
 * queries per call beyond the stateless peer's (its round trips).
 *
 * Part 2: pipeline calls/s of one process, then of two processes (replicas) on one PostgreSQL schema
 * with the stateful policy, each with the same number of concurrent callers, for a fixed time.
 *
 *   npm run bench:shared-state            (PostgreSQL at REINS_BENCH_DATABASE_URL, default 127.0.0.1)
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Harness } from '../src/harness/harness.js';
import type { CallRequest, ToolExecutor } from '../src/harness/types.js';
import { compilePolicy } from '../src/policy/compile-policy.js';
import type { PreparedPolicy } from '../src/policy/prepared-policy.js';
import type { AuditLog } from '../src/store/audit-log.js';
import { MemoryCounterStore } from '../src/store/memory-counter-store.js';
import { PostgresAuditLog } from '../src/store/postgres/postgres-audit-log.js';
import { PostgresOversightStore } from '../src/store/postgres/postgres-oversight-store.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { SqliteOversightStore } from '../src/store/sqlite/sqlite-oversight-store.js';
import type { CounterStore } from '../src/store/state-stores.js';
import { format, machine, type Summary, summarise } from './measure.js';

const DATABASE_URL = process.env.REINS_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const CATALOGUE = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: shared-state-bench }
tools:
  - { server: crm, name: lookup, risk: low, effects: [read] }
  - { server: bank, name: pay, risk: high, effects: [write] }
`;
const ALLOW = `
rules:
  - { id: agents, effect: allow, principal: { agents: "agent-*" }, tool: { server: [crm, bank] }, reason: the agents' tools }
`;
const LIMIT = `
limits:
  - { id: payments, tool: { name: pay }, per: [agent], window: 1d, max: 100000000, reason: a daily count per agent }
`;
const SEQUENCE = `
sequences:
  - { id: lookup-first, tool: { name: pay }, requires: { tool: { name: lookup } }, reason: look the invoice up first }
`;
const POLICIES = {
  'stateless (peer)': ALLOW,
  limit: ALLOW + LIMIT,
  sequence: ALLOW + SEQUENCE,
  'limit + sequence': ALLOW + LIMIT + SEQUENCE,
} as const;
type PolicyName = keyof typeof POLICIES;

function policy(name: PolicyName): PreparedPolicy {
  const compiled = compilePolicy([{ file: 'bench.yaml', text: `${CATALOGUE}${POLICIES[name]}` }]);
  if (!compiled.ok) throw new Error(`bench policy invalid: ${JSON.stringify(compiled.problems)}`);
  return compiled.policy;
}

const executor: ToolExecutor = async () => ({ ok: true });

function pay(agent: number, session: string): CallRequest {
  return {
    principal: { agentId: `agent-${agent}` },
    sessionId: session,
    tool: { server: 'bank', name: 'pay' },
    args: { amount: 10 },
  };
}

/** Counts the store operations a harness makes for state (reads of the log, reservations). */
class Counted {
  reads = 0;
  reservations = 0;
  audit(inner: AuditLog): AuditLog {
    return new Proxy(inner, {
      get: (target, property, receiver) => {
        const value = Reflect.get(target, property, receiver);
        if (property === 'query' || property === 'records')
          return (...args: unknown[]) => {
            this.reads++;
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }
  counters(inner: CounterStore): CounterStore {
    const reserveAndReadLog = inner.reserveAndReadLog?.bind(inner);
    return {
      reserve: (...args) => {
        this.reservations++;
        return inner.reserve(...args);
      },
      // the one-trip path of a decision that reads the session and reserves (PostgreSQL)
      ...(reserveAndReadLog
        ? {
            reserveAndReadLog: (...args: Parameters<typeof reserveAndReadLog>) => {
              this.reservations++;
              return reserveAndReadLog(...args);
            },
          }
        : {}),
      release: (id) => inner.release(id),
      totals: (keys) => inner.totals(keys),
      prune: (before) => inner.prune(before),
      acquireLease: (...args) => inner.acquireLease(...args),
      releaseLease: (key, holder) => inner.releaseLease(key, holder),
    };
  }
}

/** Counts every query the pg driver sends, in this process. */
let driverQueries = 0;
const originalQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  driverQueries++;
  return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
} as typeof pg.Client.prototype.query;

interface Backend {
  readonly name: string;
  open(): Promise<{ audit: AuditLog; counters: CounterStore; close(): Promise<void> }>;
}

const sqliteBackend: Backend = {
  name: 'SQLite (file, synchronous=FULL)',
  async open() {
    const directory = mkdtempSync(join(tmpdir(), 'reins-shared-state-'));
    const path = join(directory, 'audit.db');
    const audit = new SqliteAuditLog({ path });
    const oversight = new SqliteOversightStore({ path });
    return {
      audit,
      counters: oversight.counters,
      close: async () => {
        await oversight.close();
        await audit.close();
        rmSync(directory, { recursive: true, force: true });
      },
    };
  },
};

async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query(`drop schema if exists "${schema}" cascade`);
  await client.end();
}

function postgresBackend(schema = `reins_bench_${randomBytes(5).toString('hex')}`, own = true): Backend {
  return {
    name: 'PostgreSQL (127.0.0.1)',
    async open() {
      const audit = await PostgresAuditLog.open({ connectionString: DATABASE_URL, schema });
      const oversight = await PostgresOversightStore.open({ connectionString: DATABASE_URL, schema });
      return {
        audit,
        counters: oversight.counters,
        close: async () => {
          await oversight.close();
          await audit.close();
          if (own) await dropSchema(schema);
        },
      };
    },
  };
}

interface Row {
  readonly backend: string;
  readonly policy: PolicyName;
  readonly counters: 'store' | 'memory';
  readonly decision: Summary;
  readonly call: Summary;
  readonly stateOpsPerCall: number;
  readonly driverQueriesPerCall: number | undefined;
}

async function oneCaller(backend: Backend, name: PolicyName, counted: 'store' | 'memory', calls: number) {
  const opened = await backend.open();
  const count = new Counted();
  const counters = count.counters(counted === 'store' ? opened.counters : new MemoryCounterStore());
  const harness = new Harness({
    policy: { current: policy(name) },
    audit: count.audit(opened.audit),
    counters,
  });
  // warm up: connections, caches, the session's projection
  for (let index = 0; index < 200; index++) {
    const lookup: CallRequest = {
      ...pay(index % 4, `s${index % 4}`),
      tool: { server: 'crm', name: 'lookup' },
      args: {},
    };
    await harness.call(lookup, executor);
    await harness.call(pay(index % 4, `s${index % 4}`), executor);
  }
  count.reads = 0;
  count.reservations = 0;
  const queriesBefore = driverQueries;
  const times = new Float64Array(calls);
  const firstSeq = ((await opened.audit.query({ order: 'desc', limit: 1 }))[0]?.seq ?? 0) as number;
  for (let index = 0; index < calls; index++) {
    const started = process.hrtime.bigint();
    const result = await harness.call(pay(index % 4, `s${index % 4}`), executor);
    times[index] = Number(process.hrtime.bigint() - started) / 1_000;
    if (result.status !== 'ok') throw new Error(`call ${index}: ${result.status}`);
  }
  const queries = driverQueries - queriesBefore;
  const decisions: number[] = [];
  for (let after = firstSeq; ; ) {
    const page = await opened.audit.query({ kind: 'call-intent', afterSeq: after, limit: 10_000 });
    for (const record of page)
      if (record.event.kind === 'call-intent') decisions.push(record.event.decisionLatencyUs);
    if (page.length < 10_000) break;
    after = page.at(-1)?.seq as number;
  }
  await opened.close();
  const row: Row = {
    backend: backend.name,
    policy: name,
    counters: counted,
    decision: summarise(decisions),
    call: summarise(times),
    stateOpsPerCall: (count.reads + count.reservations) / calls,
    driverQueriesPerCall: backend.name.startsWith('PostgreSQL') ? queries / calls : undefined,
  };
  return row;
}

/** Worker mode: one replica driving `callers` closed-loop callers for `seconds`; prints its call count. */
async function replica(schema: string, callers: number, seconds: number, id: string): Promise<void> {
  const opened = await postgresBackend(schema, false).open();
  const harness = new Harness({
    policy: { current: policy('limit + sequence') },
    audit: opened.audit,
    counters: opened.counters,
  });
  const deadline = Date.now() + seconds * 1_000;
  let calls = 0;
  await Promise.all(
    Array.from({ length: callers }, async (_, caller) => {
      const session = `${id}-session-${caller}`;
      const lookup: CallRequest = {
        ...pay(caller % 8, session),
        tool: { server: 'crm', name: 'lookup' },
        args: {},
      };
      await harness.call(lookup, executor);
      while (Date.now() < deadline) {
        const result = await harness.call(pay(caller % 8, session), executor);
        if (result.status !== 'ok') throw new Error(`replica call: ${result.status}`);
        calls++;
      }
    }),
  );
  await opened.close();
  process.send?.({ calls });
}

async function replicas(count: number, callers: number, seconds: number): Promise<number> {
  const schema = `reins_bench_${randomBytes(5).toString('hex')}`;
  // migrate once, before the replicas race to
  await (await postgresBackend(schema, false).open()).close();
  const script = fileURLToPath(import.meta.url);
  const results = await Promise.all(
    Array.from(
      { length: count },
      (_, index) =>
        new Promise<number>((resolve, reject) => {
          const child = fork(script, ['--replica', schema, String(callers), String(seconds), `r${index}`]);
          child.on('message', (message: { calls: number }) => resolve(message.calls));
          child.on('exit', (code) => (code === 0 ? undefined : reject(new Error(`replica exited ${code}`))));
        }),
    ),
  );
  await dropSchema(schema);
  return results.reduce((sum, calls) => sum + calls, 0) / seconds;
}

async function main(): Promise<void> {
  const write = (line: string) => process.stdout.write(`${line}\n`);
  const quick = process.argv.includes('--quick');
  write(`machine: ${machine()}`);
  write('');
  write(
    '| backend | policy | limit counters | decision median µs | decision p99 µs | call median µs | call p99 µs | state ops / call | driver queries / call |',
  );
  write('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  const rows: Row[] = [];
  for (const backend of [sqliteBackend, postgresBackend()]) {
    const calls = quick ? 300 : backend === sqliteBackend ? 3_000 : 2_000;
    for (const name of Object.keys(POLICIES) as PolicyName[]) {
      const modes: ('store' | 'memory')[] = name.includes('limit') ? ['memory', 'store'] : ['store'];
      for (const mode of modes) {
        const row = await oneCaller(name === 'stateless (peer)' ? backend : backend, name, mode, calls);
        rows.push(row);
        write(
          `| ${row.backend} | ${row.policy} | ${name.includes('limit') ? mode : '–'} | ${format(row.decision.medianUs, 0)} | ${format(row.decision.p99Us, 0)} | ${format(row.call.medianUs, 0)} | ${format(row.call.p99Us, 0)} | ${format(row.stateOpsPerCall, 2)} | ${row.driverQueriesPerCall === undefined ? '–' : format(row.driverQueriesPerCall, 2)} |`,
        );
      }
    }
  }
  const peer = rows.find((row) => row.backend.startsWith('PostgreSQL') && row.policy === 'stateless (peer)');
  if (peer?.driverQueriesPerCall !== undefined) {
    write('');
    for (const row of rows.filter((each) => each.backend.startsWith('PostgreSQL') && each !== peer))
      write(
        `PostgreSQL, ${row.policy} (${row.counters} counters): ${format((row.driverQueriesPerCall ?? 0) - peer.driverQueriesPerCall, 2)} driver queries per call beyond the stateless peer`,
      );
  }
  write('');
  const seconds = quick ? 3 : 10;
  const callers = 16;
  const one = await replicas(1, callers, seconds);
  const two = await replicas(2, callers, seconds);
  write('| PostgreSQL, limit + sequence, 16 callers per process | calls/s |');
  write('| --- | ---: |');
  write(`| one process | ${Math.round(one)} |`);
  write(`| two processes (replicas) on one schema | ${Math.round(two)} |`);
  write(`two replicas / one: ${format(two / one, 2)}x`);
}

const replicaAt = process.argv.indexOf('--replica');
if (replicaAt >= 0) {
  const [schema, callers, seconds, id] = process.argv.slice(replicaAt + 1);
  await replica(schema as string, Number(callers), Number(seconds), id as string);
  process.exit(0);
} else {
  await main();
}
