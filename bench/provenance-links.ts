/**
 * @module bench/provenance-links
 * What finding provenance links costs a call (issue 18): the full pipeline (`Harness.call`: decide,
 * find where each argument value came from, record the intent, run an in-process tool, record the
 * outcome) on an in-memory SQLite audit log, one call at a time, with link finding on and off
 * (`HarnessOptions.argumentLinks: false`, which exists for this benchmark only), in one process and one
 * run, taking turns by block so that drift on the machine falls on every configuration alike:
 *
 * - `without links` twice (the second an A/A control: how far two identical harnesses differ here);
 * - `with links`: what every entry point runs.
 *
 * Each block is one session: a record is read, then a message is sent built from its fields, K times.
 * Two workloads: small outputs (a ~200-byte record) and large ones (~100 KB of JSON held as MCP text,
 * 500 records with addresses, phone numbers, links and free-text notes, K = 10, so the last calls see
 * a history of ~1 MB of outputs). Two policies: one with no `flows` rule (the decision reads no session
 * state, so link finding reads — and indexes — it itself) and one with a flow rule on the send (the
 * send's decision reads the state anyway; the read's does not).
 *
 * Then `findArgumentSources` alone (dataflow/argument-links) on the views those sessions ended with,
 * and on a view built directly with much untrusted text, for arguments that force its phrase searches.
 *
 * Run: npm run bench:provenance [-- --quick] [-- --only small/no-flows|small/flows|large/no-flows|large/flows|phrase]
 */
import { findArgumentSources } from '../src/dataflow/argument-links.js';
import { SessionDataflow } from '../src/dataflow/session-dataflow.js';
import { Harness } from '../src/harness/harness.js';
import type { CallRequest } from '../src/harness/types.js';
import { compilePolicy } from '../src/policy/compile-policy.js';
import type { PreparedPolicy } from '../src/policy/prepared-policy.js';
import type { DataflowView } from '../src/spec/dataflow-view.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { format, machine, percentile, type Summary, summarise, timeEach } from './measure.js';

const QUICK = process.argv.includes('--quick');
/** `--only small/no-flows` (or large/flows, …, or phrase): one case, e.g. to profile it with --cpu-prof. */
const ONLY = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;

const CATALOGUE = `tools:
  - { server: crm, name: get_record, risk: low, effects: [read], output: { untrustedFields: [notes] } }
  - { server: crm, name: export_records, risk: low, effects: [read], output: { untrustedFields: [notes] } }
  - { server: mail, name: send, risk: high, effects: [write, external], sink: { args: [to], text: [subject, body] } }
rules:
  - { id: all, effect: allow, reason: the benchmark allows every call unless a flow rule holds it }
`;
const FLOWS = `flows:
  - { id: mail-provenance, tool: { name: send }, reason: the recipient comes from text others wrote }
`;

function policy(withFlows: boolean): PreparedPolicy {
  const text = `apiVersion: reins.dev/v1\nkind: Policy\nmetadata: { name: provenance-bench }\n${CATALOGUE}${withFlows ? FLOWS : ''}`;
  const compiled = compilePolicy([{ file: 'provenance-bench.yaml', text }]);
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.problems.slice(0, 3)));
  return compiled.policy;
}

/** One customer record (~200 bytes as JSON); `n` keeps every value distinct. */
function customer(n: number): Record<string, string> {
  return {
    id: `c-${n}`,
    name: `Ada Lovelace ${n}`,
    email: `ada.${n}@example.com`,
    phone: `+44 20 7946 ${String(n % 10_000).padStart(4, '0')}`,
    site: `https://shop${n}.example.org/orders`,
    notes: `Prefers mail. Met at the expo; asked about invoice ${100_000 + n} and the renewal.`,
  };
}

/** ~100 KB of JSON held as MCP text: 500 records of page `page`. */
function exportPage(page: number): unknown {
  const records = Array.from({ length: 500 }, (_, index) => customer(page * 500 + index));
  return { content: [{ type: 'text', text: JSON.stringify({ page, records }) }] };
}

/** The message the agent sends, built from a record's fields and its own words. */
function messageTo(record: Record<string, string>): Record<string, unknown> {
  return {
    to: record.email,
    subject: `Follow-up for ${record.name}`,
    body: `Hi, as promised I will call you at ${record.phone} about the renewal. Best regards, Sam`,
  };
}

interface Workload {
  readonly label: string;
  /** Read/send pairs per session (= per block). */
  readonly pairs: number;
  readonly read: (
    session: number,
    pair: number,
  ) => {
    request: { tool: CallRequest['tool']; args: Record<string, unknown> };
    output: unknown;
    record: Record<string, string>;
  };
}

const SMALL: Workload = {
  label: 'small (~200 B record)',
  pairs: 10,
  read: (session, pair) => {
    const record = customer(session * 100 + pair);
    return {
      request: { tool: { server: 'crm', name: 'get_record' }, args: { id: record.id } },
      output: record,
      record,
    };
  },
};

const LARGE: Workload = {
  label: 'large (~100 KB JSON text)',
  pairs: 10,
  read: (session, pair) => {
    const page = session * 100 + pair;
    const output = exportPage(page);
    return {
      request: { tool: { server: 'crm', name: 'export_records' }, args: { page } },
      output,
      record: customer(page * 500 + 250),
    };
  },
};

interface Variant {
  readonly label: string;
  readonly harness: Harness;
  readonly audit: SqliteAuditLog;
  readonly reads: number[];
  readonly sends: number[];
  /** Per block: [median of the reads, median of the sends]. */
  readonly blocks: [number, number][];
}

function variant(label: string, prepared: PreparedPolicy, links: boolean): Variant {
  const audit = new SqliteAuditLog({ path: ':memory:', durability: 'process' });
  const harness = new Harness({
    policy: { current: prepared },
    audit,
    // the same small cache for every configuration: finished sessions leave it, memory stays bounded
    sessionCache: { maxSessions: 4 },
    ...(links ? {} : { argumentLinks: false }),
  });
  return { label, harness, audit, reads: [], sends: [], blocks: [] };
}

const principal = { agentId: 'assistant' };

async function timed(target: Variant, request: CallRequest, output: unknown): Promise<number> {
  const started = process.hrtime.bigint();
  const result = await target.harness.call(request, async () => output);
  const elapsedUs = Number(process.hrtime.bigint() - started) / 1_000;
  if (result.status !== 'ok') throw new Error(`${target.label}: ${request.tool.name} ended ${result.status}`);
  return elapsedUs;
}

/** One session of `workload` on `target`; returns its id. */
async function block(target: Variant, workload: Workload, session: number, record: boolean): Promise<string> {
  const sessionId = `s-${session}`;
  const reads: number[] = [];
  const sends: number[] = [];
  for (let pair = 0; pair < workload.pairs; pair++) {
    const read = workload.read(session, pair);
    reads.push(await timed(target, { principal, sessionId, ...read.request }, read.output));
    const send = {
      principal,
      sessionId,
      tool: { server: 'mail', name: 'send' },
      args: messageTo(read.record),
    };
    sends.push(await timed(target, send, 'sent'));
  }
  if (record) {
    target.reads.push(...reads);
    target.sends.push(...sends);
    target.blocks.push([summarise(reads).medianUs, summarise(sends).medianUs]);
  }
  return sessionId;
}

interface CaseResult {
  readonly workload: Workload;
  readonly flows: boolean;
  readonly variants: Variant[];
  /** The links configuration's last session, for findArgumentSources alone. */
  readonly view: DataflowView;
  readonly sessionId: string;
}

async function runCase(workload: Workload, flows: boolean, rounds: number): Promise<CaseResult> {
  const prepared = policy(flows);
  const variants = [
    variant('without links', prepared, false),
    variant('without links again (A/A)', prepared, false),
    variant('with links', prepared, true),
  ];
  const withLinks = variants[2] as Variant;
  let session = 0;
  let last = '';
  try {
    for (const each of variants) await block(each, workload, session, false);
    session++;
    await checkRecords(variants[0] as Variant, withLinks);
    for (let round = 0; round < rounds; round++) {
      for (let turn = 0; turn < variants.length; turn++) {
        const each = variants[(round + turn) % variants.length] as Variant;
        const id = await block(each, workload, session, true);
        if (each === withLinks) last = id;
      }
      session++;
    }
    const view = await withLinks.harness.dataflow(last);
    return { workload, flows, variants, view, sessionId: last };
  } finally {
    for (const each of variants) await each.audit.close();
  }
}

/** The benchmark measures what it says: links on the intents of one, none on the other's. */
async function checkRecords(without: Variant, withLinks: Variant): Promise<void> {
  const intents = async (target: Variant) =>
    (await target.audit.query({ sessionId: 's-0', kind: 'call-intent' })).flatMap((record) =>
      record.event.kind === 'call-intent' ? [record.event] : [],
    );
  if ((await intents(without)).some((intent) => intent.provenance !== undefined))
    throw new Error('the configuration without links recorded provenance');
  const linked = await intents(withLinks);
  const send = linked.find((intent) => intent.tool.name === 'send');
  const to = send?.provenance?.sources.find((source) => source.arg === '/to');
  if (
    linked.some((intent) => intent.provenance === undefined) ||
    to?.trust !== 'trusted' ||
    to.from === undefined
  )
    throw new Error(`links missing: ${JSON.stringify(send?.provenance)}`);
}

function cell(summary: Summary): string {
  return `${format(summary.medianUs, 0)} / ${format(summary.p99Us, 0)}`;
}

function signed(value: number): string {
  return `${value >= 0 ? '+' : ''}${format(value, 0)}`;
}

/** Median [25th, 75th percentile] of block medians minus the baseline's of the same round. */
function paired(target: Variant, baseline: Variant, kind: 0 | 1): string {
  const differences = target.blocks.map(
    (each, round) => each[kind] - (baseline.blocks[round] as [number, number])[kind],
  );
  const sorted = Float64Array.from(differences).sort();
  return `${signed(percentile(sorted, 50))} [${signed(percentile(sorted, 25))}, ${signed(percentile(sorted, 75))}]`;
}

function report(result: CaseResult): void {
  const [without, again, withLinks] = result.variants as [Variant, Variant, Variant];
  for (const [kind, name] of [
    [0, 'read'],
    [1, 'send'],
  ] as const) {
    const samples = (target: Variant) => summarise(kind === 0 ? target.reads : target.sends);
    const base = samples(without);
    const on = samples(withLinks);
    const control = samples(again);
    console.log(
      `| ${result.workload.label} | ${result.flows ? 'flow rule on send' : 'no flows'} | ${name} | ${base.samples} | ${cell(base)} | ${cell(on)} | ${signed(on.medianUs - base.medianUs)} | ${signed(on.p99Us - base.p99Us)} | ${paired(withLinks, without, kind)} | ${cell(control)} | ${paired(again, without, kind)} |`,
    );
  }
}

/** Untrusted characters a view holds, and how many outputs: what its phrase searches scan. */
function describeView(workload: Workload): string {
  return workload === SMALL
    ? `${workload.pairs} records`
    : `${workload.pairs} pages, ~${Math.round((workload.pairs * JSON.stringify(exportPage(0)).length) / 1024)} KB of output`;
}

/** `findArgumentSources` alone on the view a session ended with: its last send's and last read's arguments. */
function aloneRows(result: CaseResult): void {
  const { workload, view, sessionId } = result;
  const last = workload.read(Number(sessionId.slice(2)), workload.pairs - 1);
  const iterations = QUICK ? 500 : workload === SMALL ? 20_000 : 2_000;
  for (const [label, args] of [
    ['send (to, subject, body)', messageTo(last.record)],
    ['read (id or page)', last.request.args],
  ] as const) {
    const found = findArgumentSources(args, view, sessionId);
    const summary = timeEach(() => findArgumentSources(args, view, sessionId), iterations, 200);
    console.log(
      `| ${workload.label} | ${result.flows ? 'flow rule on send' : 'no flows'} | ${describeView(workload)} | ${label} | ${found.sources.length} | ${format(summary.medianUs, 1)} / ${format(summary.p99Us, 1)} |`,
    );
  }
}

/**
 * The phrase search's bound: a view with `megabytes` of untrusted text, and a call whose arguments are
 * 20 short strings seen nowhere (each whole value ≤ 200 characters not in the index costs a search of
 * every untrusted text, at most 16 per call).
 */
function phraseWorstCase(megabytes: number): void {
  const flow = new SessionDataflow();
  const description = {
    untrusted: true,
    spec: { untrustedFields: [], trustedFields: [], trustedKeys: false, labels: [], tenant: undefined },
  };
  const chunk = 'Some text others wrote, with words in it and nothing the agent later sends. '.repeat(1_300); // ~100 KB
  const outputs = Math.round((megabytes * 1024 * 1024) / chunk.length);
  for (let index = 0; index < outputs; index++)
    flow.recordOutput({ decisionId: `d${index}`, tool: 'web/fetch' }, `${index} ${chunk}`, description, {});
  const args = { lines: Array.from({ length: 20 }, (_, index) => `a phrase of the model number ${index}`) };
  const found = findArgumentSources(args, flow, 's');
  const summary = timeEach(() => findArgumentSources(args, flow, 's'), QUICK ? 5 : 40, 2);
  console.log(
    `| ${megabytes} MB of untrusted text (${outputs} outputs) | 20 short strings seen nowhere | ${found.sources.length}${found.truncated ? ' (truncated)' : ''} | ${format(summary.medianUs / 1000, 2)} ms / ${format(summary.p99Us / 1000, 2)} ms |`,
  );
}

function caseName(workload: Workload, flows: boolean): string {
  return `${workload === SMALL ? 'small' : 'large'}/${flows ? 'flows' : 'no-flows'}`;
}

async function main(): Promise<void> {
  console.log(`machine: ${machine()}`);
  const rounds = { small: QUICK ? 3 : 60, large: QUICK ? 2 : 12 };
  console.log(
    `rounds (one session per configuration each, order turning): small ${rounds.small}, large ${rounds.large}; ${SMALL.pairs} read/send pairs per session\n`,
  );
  const results: CaseResult[] = [];
  for (const workload of [SMALL, LARGE])
    for (const flows of [false, true]) {
      if (ONLY !== undefined && ONLY !== caseName(workload, flows)) continue;
      results.push(await runCase(workload, flows, workload === SMALL ? rounds.small : rounds.large));
    }
  console.log(
    '| outputs | policy | call | calls | without links µs (median / p99) | with links µs (median / p99) | Δ median | Δ p99 | paired Δ median [IQR] | A/A control µs (median / p99) | A/A paired Δ [IQR] |',
  );
  console.log('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const result of results) report(result);
  console.log('\n`findArgumentSources` alone, on the view the last session with links ended with:\n');
  console.log('| outputs | policy | session view | arguments | sources | µs (median / p99) |');
  console.log('| --- | --- | --- | --- | ---: | ---: |');
  for (const result of results) aloneRows(result);
  console.log('\nThe phrase search bound (a view built directly, all of it untrusted text):\n');
  console.log('| view | arguments | sources | per call (median / p99) |');
  console.log('| --- | --- | ---: | ---: |');
  if (ONLY === undefined || ONLY === 'phrase')
    for (const megabytes of QUICK ? [1] : [1, 5, 20]) phraseWorstCase(megabytes);
}

await main();
