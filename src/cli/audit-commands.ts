/**
 * @module cli/audit-commands
 * `reins audit ...`: verify the chain and its signed checkpoints, query records, reconstruct a
 * session, trace a call's argument values back to where they came from, show the public key, sign a
 * checkpoint now, and prune old records.
 */

import { createWriteStream, type WriteStream } from 'node:fs';
import { callsWithoutOutcome, describeCallsWithoutOutcome } from '../audit/calls-without-outcome.js';
import { readCheckpoints } from '../export/checkpoint-file.js';
import { exportJsonLines } from '../export/jsonl-export.js';
import { findCallRecords } from '../harness/open-calls.js';
import { describeFinding } from '../inspect/monitor-findings.js';
import {
  formatTrace,
  listTraceEnds,
  printable,
  type RecordLookup,
  traceProvenance,
} from '../inspect/provenance-trace.js';
import { describeReversal, sessionTimeline } from '../inspect/session-timeline.js';
import { type AuditCheckpointV1, DEFAULT_CHECKPOINT_EVERY } from '../spec/audit-checkpoint.js';
import { type AuditEventV1, indexFieldsOf } from '../spec/audit-event.js';
import { parseDuration } from '../spec/duration.js';
import { describeError } from '../spec/errors.js';
import type { CallProvenanceRecord } from '../spec/provenance.js';
import { type AuditLog, type AuditQuery, MAX_QUERY_LIMIT } from '../store/audit-log.js';
import { PRIVATE_FILE_MODE } from '../store/private-files.js';
import {
  checkpointPublicKeyPem,
  describeStore,
  openReadableAuditLog,
  openWritableAuditLog,
  type StoreOptions,
  type VerificationKeys,
  verificationKeys,
} from './audit-store.js';
import { type CliIo, EXIT_ERROR, EXIT_FAILED, EXIT_OK } from './io.js';
import { describeRestore, verifyAccountingForRestores } from './restore-verification.js';

/** Opens a log, runs `work`, always closes; store errors become exit code 2 with the message. */
async function withLog(
  open: () => Promise<AuditLog>,
  io: CliIo,
  work: (log: AuditLog) => Promise<number>,
): Promise<number> {
  let log: AuditLog | undefined;
  try {
    log = await open();
    return await work(log);
  } catch (error) {
    io.err(`reins audit: ${describeError(error)}`);
    return EXIT_ERROR;
  } finally {
    await log
      ?.close()
      .catch((error: unknown) => io.err(`reins audit: closing the log failed: ${describeError(error)}`));
  }
}

export interface VerifyOptions extends StoreOptions {
  /** Trusted public key files (several during a key rotation). */
  publicKey?: string[];
  /** Single checkpoint files (what `reins audit checkpoint` prints). */
  checkpoint?: string[];
  /** Published checkpoints: JSON Lines files or publication directories. */
  checkpoints?: string[];
  /** The cadence writers sign at: `--checkpoint-every`, else the configuration's, else 1,000. */
  checkpointEvery?: number;
}

export async function verifyAudit(options: VerifyOptions, io: CliIo): Promise<number> {
  let keys: VerificationKeys;
  let external: AuditCheckpointV1[];
  const checkpointEvery = options.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY;
  try {
    keys = verificationKeys(options);
    external = readCheckpoints([...(options.checkpoint ?? []), ...(options.checkpoints ?? [])]);
  } catch (error) {
    io.err(`reins audit verify: ${describeError(error)}`);
    return EXIT_ERROR;
  }
  const where = describeStore(options);
  return withLog(
    () => openReadableAuditLog(options),
    io,
    async (log) => {
      // a restore from a backup sets aside the published checkpoints it declares lost (decision 0024)
      const { report, reconciliation, problems } = await verifyAccountingForRestores(log, {
        keys: keys.keys,
        published: external,
        checkpointEvery,
      });
      for (const problem of problems)
        io.err(`TAMPERED: ${where}: restore record ${problem.seq}: ${problem.message}`);
      if (!report.ok) {
        const bad = report.firstBad;
        io.err(`TAMPERED: ${where}: first bad record ${bad?.seq} (${bad?.problem}): ${bad?.message}`);
        io.err(`records up to ${report.lastSeq} verify; everything from record ${bad?.seq} on is untrusted`);
        if (!report.signaturesChecked) io.err(UNCHECKED_SIGNATURES);
        return EXIT_FAILED;
      }
      if (problems.length > 0) return EXIT_FAILED;
      const signed = report.checkpointsVerified > 0 || report.anchoredAt !== undefined;
      // fail closed: checkpoints nobody checked the signatures of prove nothing
      if (signed && !report.signaturesChecked) {
        io.err(
          `NOT VERIFIED: ${where}: ${report.checked} records chain, but the signatures of ${report.checkpointsVerified} checkpoints were not checked`,
        );
        io.err(UNCHECKED_SIGNATURES);
        return EXIT_FAILED;
      }
      const anchored = report.anchoredAt
        ? `, pruned before record ${report.anchoredAt + 1} (anchored on a signed checkpoint)`
        : '';
      io.out(
        `ok: ${where}: ${report.checked} records, chain intact, ${report.checkpointsVerified} checkpoints (signatures checked)${anchored}, head ${report.lastSeq} ${report.lastHash.slice(0, 16)}`,
      );
      if (keys.source === 'beside-log')
        io.err(
          `note: signatures were checked against the signing key at \`${keys.path}\`, beside the log: whoever can replace it can re-sign a rewritten log; pass --public-key with a copy kept elsewhere`,
        );
      const withoutOutcome = describeCallsWithoutOutcome(await callsWithoutOutcome(log.records()));
      if (withoutOutcome !== undefined) io.out(withoutOutcome);
      for (const restore of reconciliation.accepted) io.out(describeRestore(restore));
      reportPublished(
        external.filter((checkpoint) => !reconciliation.superseded.has(checkpoint)),
        report.lastSeq,
        io,
      );
      return EXIT_OK;
    },
  );
}

const UNCHECKED_SIGNATURES =
  'checkpoint signatures were not checked: no trusted public key (pass --public-key <file>, a copy kept away from the database); anyone who can write to the database can sign checkpoints with a key of his own';

/** How much of the log the published checkpoints cover. */
function reportPublished(external: readonly AuditCheckpointV1[], head: number, io: CliIo): void {
  if (external.length === 0) {
    io.err(
      'note: no published checkpoints given (--checkpoints): a rewrite of records after the last checkpoint, or of a whole short log, can only be caught against a copy kept outside the database',
    );
    return;
  }
  const last = Math.max(...external.map((checkpoint) => checkpoint.seq));
  const uncovered = head > last ? `; records after ${last} are covered by the database alone` : '';
  io.out(
    `published: ${external.length} checkpoints agree with the log, the last at record ${last}${uncovered}`,
  );
}

export interface QueryOptions extends StoreOptions {
  agent?: string;
  session?: string;
  tool?: string;
  /** Checked by the command line (cli/option-values), as are the times (UTC ISO strings by then). */
  effect?: string;
  kind?: AuditEventV1['kind'];
  from?: string;
  to?: string;
  after?: number;
  limit?: number;
  format: string;
}

export async function queryAudit(options: QueryOptions, io: CliIo): Promise<number> {
  const query: { -readonly [K in keyof AuditQuery]: AuditQuery[K] } = {};
  if (options.agent) query.agentId = options.agent;
  if (options.session) query.sessionId = options.session;
  if (options.tool) query.tool = options.tool;
  if (options.effect) query.effect = options.effect;
  if (options.kind !== undefined) query.kind = options.kind;
  if (options.from) query.from = options.from;
  if (options.to) query.to = options.to;
  if (options.after !== undefined) query.afterSeq = options.after;
  if (options.limit !== undefined) query.limit = options.limit;
  if (!isOutputFormat(options.format))
    return usage(io, `--format must be json or table, got \`${options.format}\``);
  return withLog(
    () => openReadableAuditLog(options),
    io,
    async (log) => {
      const records = await log.query(query);
      if (options.format === 'json') {
        for (const record of records)
          io.out(JSON.stringify({ seq: record.seq, hash: record.hash, event: record.event }));
        return EXIT_OK;
      }
      io.out(
        table(
          ['seq', 'time', 'kind', 'agent', 'session', 'tool', 'effect'],
          records.map((record) => {
            const fields = indexFieldsOf(record.event);
            // a refused credential proves nothing about who sent it: its ids are what it claimed
            const claimed = record.event.kind === 'credential-rejected';
            return [
              String(record.seq),
              fields.time,
              fields.kind,
              claimed ? claimedId(fields.agentId) : fields.agentId,
              claimed ? claimedId(fields.sessionId) : fields.sessionId,
              fields.tool,
              fields.effect,
            ];
          }),
        ),
      );
      io.out(`${records.length} record${records.length === 1 ? '' : 's'}`);
      return EXIT_OK;
    },
  );
}

export async function showSession(
  sessionId: string,
  options: StoreOptions & { format: string },
  io: CliIo,
): Promise<number> {
  if (!isOutputFormat(options.format))
    return usage(io, `--format must be json or table, got \`${options.format}\``);
  return withLog(
    () => openReadableAuditLog(options),
    io,
    async (log) => {
      const steps = await sessionTimeline(log, sessionId);
      if (steps.length === 0) {
        io.err(`no records for session \`${sessionId}\``);
        return EXIT_FAILED;
      }
      if (options.format === 'json') {
        io.out(JSON.stringify({ sessionId, steps }, null, 2));
        return EXIT_OK;
      }
      io.out(`session ${sessionId}: ${steps.length} call${steps.length === 1 ? '' : 's'}`);
      for (const [index, step] of steps.entries()) {
        const intent = step.intent?.event;
        const outcome = step.outcome?.event;
        const chain = step.delegatedBy.length > 0 ? ` (for ${step.delegatedBy.join(' -> ')})` : '';
        io.out('');
        io.out(`${index + 1}. ${step.tool} by ${step.agentId}${chain}  [decision ${step.decisionId}]`);
        if (intent) {
          io.out(
            `   #${step.intent?.seq} ${intent.time} ${intent.decision.effect.toUpperCase()} — ${intent.decision.reasons.join('; ')}`,
          );
          io.out(`   args: ${truncate(JSON.stringify(intent.args), 160)}`);
          for (const line of describeProvenance(intent.provenance)) io.out(`   ${printable(line)}`);
          if (intent.decision.matchedRules.length > 0)
            io.out(`   rules: ${intent.decision.matchedRules.join(', ')}`);
          if (intent.decision.shadow) io.out(`   shadow: ${intent.decision.shadow.effect}`);
          io.out(`   reversal: ${describeReversal(step)}`);
          for (const finding of step.monitor) io.out(`   monitor: ${printable(describeFinding(finding))}`);
        } else {
          io.out('   (no intent record)');
        }
        if (outcome) {
          const approval = outcome.approval
            ? ` (${outcome.approval.approved ? 'approved' : 'refused'} by ${outcome.approval.by ?? 'unknown'})`
            : '';
          io.out(
            `   #${step.outcome?.seq} ${outcome.time} ${outcome.outcome}${approval} after ${outcome.latencyUs} µs${outcome.error ? ` — ${outcome.error}` : ''}`,
          );
        } else {
          io.out('   (no outcome record: still running, or the process stopped)');
        }
        for (const link of step.links)
          io.out(`   ${link.rel === 'input' ? 'input from' : 'on behalf of'} ${link.id}`);
      }
      return EXIT_OK;
    },
  );
}

/**
 * A step's argument sources, one line per argument (`/to ← trusted from <decision>/email`), and the
 * user's request when the step's record declared it.
 */
function describeProvenance(provenance: CallProvenanceRecord | undefined): string[] {
  if (provenance === undefined) return ['sources: not recorded'];
  const lines: string[] = [];
  if (provenance.request)
    lines.push(
      `request (declared ${provenance.request.via === 'session' ? 'for the session' : 'with this call'}): ${truncate(JSON.stringify(provenance.request.text), 160)}`,
    );
  const byArgument = new Map<string, string[]>();
  for (const source of provenance.sources) {
    const from = source.from === undefined ? '' : ` from ${source.from}${source.field ?? ''}`;
    const session = source.session === undefined ? '' : ` in session ${source.session}`;
    const match = source.match === 'value' ? '' : ` as ${source.match}`;
    const text =
      source.trust === 'none' ? "none (the model's own)" : `${source.trust}${from}${session}${match}`;
    byArgument.set(source.arg, [...(byArgument.get(source.arg) ?? []), text]);
  }
  if (byArgument.size > 0) lines.push('sources:');
  for (const [arg, sources] of byArgument) lines.push(`  ${arg} ← ${sources.join(', ')}`);
  if (provenance.truncated) lines.push('  (more values than the record lists)');
  if (provenance.incomplete)
    lines.push("  (the session's data flow was incomplete: a `none` may hide a source)");
  return lines;
}

export interface TraceCommandOptions extends StoreOptions {
  /** The call's session, when known: a faster lookup than by decision id alone. */
  session?: string;
  format: string;
}

/** `reins audit trace <decision-id>`: the call's argument values back to the user, untrusted text or the model. */
export async function traceCall(
  decisionId: string,
  options: TraceCommandOptions,
  io: CliIo,
): Promise<number> {
  if (options.format !== 'text' && options.format !== 'json')
    return usage(io, `--format must be text or json, got \`${options.format}\``);
  return withLog(
    () => openReadableAuditLog(options),
    io,
    async (log) => {
      const result = await traceProvenance(decisionId, recordLookup(log), {
        ...(options.session ? { sessionId: options.session } : {}),
        requestDeclared: (sessionId) => requestDeclaredIn(log, sessionId),
      });
      if (!result.ok) {
        io.err(`reins audit trace: ${result.message}`);
        return EXIT_FAILED;
      }
      if (options.format === 'json')
        io.out(JSON.stringify({ ...result.trace, ends: listTraceEnds(result.trace) }, null, 2));
      else io.out(formatTrace(result.trace).join('\n'));
      return EXIT_OK;
    },
  );
}

/**
 * Calls as the harness finds them (harness/open-calls: the session's index narrows, the decision id
 * picks). A call named by its decision id alone, the trace's starting point, is first found among all
 * intents (a scan: `--session` spares it); the sources it leads to name their sessions.
 */
function recordLookup(log: AuditLog): RecordLookup {
  return async (sessionId, decisionId) => {
    if (sessionId !== undefined) return findCallRecords(log, sessionId, decisionId);
    const [found] = await log.query({ kind: 'call-intent', decisionId, order: 'desc', limit: 1 });
    return found?.event.kind === 'call-intent' ? findCallRecords(log, found.event.sessionId, decisionId) : {};
  };
}

/** Pages of a session's intents read to learn whether it declared a request; past them it is not known. */
const REQUEST_SCAN_PAGES = 10;

/** Whether any call of the session declared the user's request (or used a value from one). */
async function requestDeclaredIn(log: AuditLog, sessionId: string): Promise<boolean | undefined> {
  let afterSeq = 0;
  for (let page = 0; page < REQUEST_SCAN_PAGES; page++) {
    const records = await log.query({ sessionId, kind: 'call-intent', afterSeq, limit: MAX_QUERY_LIMIT });
    for (const { event } of records) {
      const provenance = event.kind === 'call-intent' ? event.provenance : undefined;
      if (provenance?.request || provenance?.sources.some((source) => source.trust === 'user')) return true;
    }
    const last = records.at(-1);
    if (last === undefined || records.length < MAX_QUERY_LIMIT) return false;
    afterSeq = last.seq;
  }
  return undefined;
}

export function showPublicKey(options: StoreOptions, io: CliIo): number {
  try {
    io.out(checkpointPublicKeyPem(options).trimEnd());
    return EXIT_OK;
  } catch (error) {
    io.err(`reins audit public-key: ${describeError(error)}`);
    return EXIT_ERROR;
  }
}

export async function signCheckpoint(options: StoreOptions, io: CliIo): Promise<number> {
  return withLog(
    () => openWritableAuditLog(options, {}, (line) => io.err(`reins audit: ${line}`)),
    io,
    async (log) => {
      const checkpoint = (await log.checkpoint()) ?? (await log.checkpoints()).at(-1);
      if (checkpoint === undefined) {
        io.err('the log is empty: nothing to sign');
        return EXIT_FAILED;
      }
      io.out(JSON.stringify(checkpoint));
      return EXIT_OK;
    },
  );
}

export async function pruneAudit(options: StoreOptions & { olderThan: string }, io: CliIo): Promise<number> {
  const age = parseDuration(options.olderThan);
  if (age === undefined)
    return usage(io, `--older-than must be a duration like 30d or 12h, got \`${options.olderThan}\``);
  return withLog(
    () => openWritableAuditLog(options, {}, (line) => io.err(`reins audit: ${line}`)),
    io,
    async (log) => {
      const report = await log.prune(new Date(Date.now() - age));
      if (report.anchor === undefined)
        io.out('nothing to prune: no signed checkpoint is older than the cut-off');
      else
        io.out(
          `pruned ${report.deleted} records up to record ${report.anchor.seq}; verification now starts from its signed checkpoint`,
        );
      return EXIT_OK;
    },
  );
}

/** An id a refused credential claimed, labelled so that nobody reads it as the one that acted. */
function claimedId(id: string): string {
  return id === '' ? '' : `claimed:${id}`;
}

function isOutputFormat(format: string): boolean {
  return format === 'json' || format === 'table';
}

function usage(io: CliIo, message: string): number {
  io.err(`reins audit: ${message}`);
  return EXIT_ERROR;
}

function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

/** A plain-text table; values are printed as they are (they were already redacted before recording). */
function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export async function exportAudit(
  options: StoreOptions & { format: string; out?: string; after?: number; otlpUrl?: string },
  io: CliIo,
): Promise<number> {
  const afterSeq = options.after ?? 0;
  if (options.format === 'otlp') {
    if (!options.otlpUrl)
      return usage(io, '--format otlp needs --otlp-url (e.g. http://127.0.0.1:4318/v1/logs)');
    // the OpenTelemetry exporter loads for this export only, not with every audit command
    const { createOtelAuditExporter } = await import('../export/otel-export.js');
    const exporter = createOtelAuditExporter({ url: options.otlpUrl });
    return withLog(
      () => openReadableAuditLog(options),
      io,
      async (log) => {
        try {
          const sent = await exporter.export(log.records({ afterSeq }));
          io.out(`exported ${sent} records to ${options.otlpUrl}`);
          return EXIT_OK;
        } finally {
          await exporter.shutdown();
        }
      },
    );
  }
  if (options.format !== 'jsonl')
    return usage(io, `--format must be jsonl or otlp, got \`${options.format}\``);
  return withLog(
    () => openReadableAuditLog(options),
    io,
    async (log) => {
      const out = options.out
        ? createWriteStream(options.out, { flags: 'wx', mode: PRIVATE_FILE_MODE })
        : undefined;
      try {
        const report = await exportJsonLines(log, (line) => writeLine(out, line, io), { afterSeq });
        if (out)
          io.err(
            `exported ${report.records} records and ${report.checkpoints} checkpoints to ${options.out}`,
          );
        return EXIT_OK;
      } finally {
        if (out) await new Promise((done) => out.end(done));
      }
    },
  );
}

/** Writes one export line, waiting for the stream to drain so a large export does not pile up in memory. */
function writeLine(out: WriteStream | undefined, line: string, io: CliIo): Promise<void> | void {
  if (out === undefined) {
    io.out(line.endsWith('\n') ? line.slice(0, -1) : line);
    return;
  }
  if (out.write(line)) return;
  return new Promise((done) => out.once('drain', done));
}
