/**
 * @module cli/audit-commands
 * `reins audit ...`: verify the chain and its signed checkpoints, query records, reconstruct a
 * session, show the public key, sign a checkpoint now, and prune old records.
 */

import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { exportJsonLines } from '../export/jsonl-export.js';
import { createOtelAuditExporter } from '../export/otel-export.js';
import { sessionTimeline } from '../inspect/session-timeline.js';
import { type AuditCheckpointV1, AuditCheckpointV1Schema } from '../spec/audit-checkpoint.js';
import { AuditEventV1Schema, indexFieldsOf } from '../spec/audit-event.js';
import { parseDuration } from '../spec/duration.js';
import { describeError } from '../spec/errors.js';
import type { AuditLog, AuditQuery } from '../store/audit-log.js';
import { PRIVATE_FILE_MODE } from '../store/private-files.js';
import { loadOrCreateSigningKey, publicKeyPem } from '../store/signing-key.js';
import {
  describeStore,
  openReadableAuditLog,
  openWritableAuditLog,
  type StoreOptions,
  signingKeyPathOf,
  verificationKey,
} from './audit-store.js';
import { type CliIo, EXIT_ERROR, EXIT_FAILED, EXIT_OK } from './io.js';

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

export async function verifyAudit(
  options: StoreOptions & { publicKey?: string; checkpoint?: string[] },
  io: CliIo,
): Promise<number> {
  let publicKey: ReturnType<typeof verificationKey>;
  let external: AuditCheckpointV1[];
  try {
    publicKey = verificationKey(options);
    external = (options.checkpoint ?? []).map(readCheckpointFile);
  } catch (error) {
    io.err(`reins audit verify: ${describeError(error)}`);
    return EXIT_ERROR;
  }
  const where = describeStore(options);
  return withLog(
    () => openReadableAuditLog(options),
    io,
    async (log) => {
      const report = await log.verify({ ...(publicKey ? { publicKey } : {}), extraCheckpoints: external });
      if (report.ok) {
        const anchored = report.anchoredAt
          ? `, pruned before record ${report.anchoredAt + 1} (anchored on a signed checkpoint)`
          : '';
        const signatures = report.signaturesChecked
          ? 'signatures checked'
          : 'SIGNATURES NOT CHECKED: no public key (use --public-key)';
        io.out(
          `ok: ${where}: ${report.checked} records, chain intact, ${report.checkpointsVerified} checkpoints (${signatures})${anchored}, head ${report.lastSeq} ${report.lastHash.slice(0, 16)}`,
        );
        return EXIT_OK;
      }
      const bad = report.firstBad;
      io.err(`TAMPERED: ${where}: first bad record ${bad?.seq} (${bad?.problem}): ${bad?.message}`);
      io.err(`records up to ${report.lastSeq} verify; everything from record ${bad?.seq} on is untrusted`);
      return EXIT_FAILED;
    },
  );
}

function readCheckpointFile(path: string): AuditCheckpointV1 {
  const parsed = AuditCheckpointV1Schema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success)
    throw new Error(`\`${path}\` is not an audit checkpoint: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

export interface QueryOptions extends StoreOptions {
  agent?: string;
  session?: string;
  tool?: string;
  effect?: string;
  kind?: string;
  from?: string;
  to?: string;
  after?: string;
  limit?: string;
  format: string;
}

export async function queryAudit(options: QueryOptions, io: CliIo): Promise<number> {
  const query: { -readonly [K in keyof AuditQuery]: AuditQuery[K] } = {};
  if (options.agent) query.agentId = options.agent;
  if (options.session) query.sessionId = options.session;
  if (options.tool) query.tool = options.tool;
  if (options.effect) query.effect = options.effect;
  if (options.kind !== undefined) {
    const kinds = AuditEventV1Schema.options.map((option) => option.shape.kind.value);
    const kind = kinds.find((known) => known === options.kind);
    if (kind === undefined)
      return usage(io, `--kind must be one of ${kinds.join(', ')}, got \`${options.kind}\``);
    query.kind = kind;
  }
  for (const [flag, value] of [
    ['--from', options.from],
    ['--to', options.to],
  ] as const) {
    if (value !== undefined && Number.isNaN(Date.parse(value)))
      return usage(io, `${flag} must be an ISO 8601 time, got \`${value}\``);
  }
  if (options.from) query.from = new Date(options.from).toISOString();
  if (options.to) query.to = new Date(options.to).toISOString();
  if (options.after) query.afterSeq = Number(options.after);
  if (options.limit) query.limit = Number(options.limit);
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
            return [
              String(record.seq),
              fields.time,
              fields.kind,
              fields.agentId,
              fields.sessionId,
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
          if (intent.decision.matchedRules.length > 0)
            io.out(`   rules: ${intent.decision.matchedRules.join(', ')}`);
          if (intent.decision.shadow) io.out(`   shadow: ${intent.decision.shadow.effect}`);
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

export function showPublicKey(options: StoreOptions, io: CliIo): number {
  try {
    io.out(publicKeyPem(loadOrCreateSigningKey(signingKeyPathOf(options))).trimEnd());
    return EXIT_OK;
  } catch (error) {
    io.err(`reins audit public-key: ${describeError(error)}`);
    return EXIT_ERROR;
  }
}

export async function signCheckpoint(options: StoreOptions, io: CliIo): Promise<number> {
  return withLog(
    () => openWritableAuditLog(options),
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
    () => openWritableAuditLog(options),
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
  options: StoreOptions & { format: string; out?: string; after?: string; otlpUrl?: string },
  io: CliIo,
): Promise<number> {
  const afterSeq = options.after === undefined ? 0 : Number(options.after);
  if (!Number.isInteger(afterSeq) || afterSeq < 0)
    return usage(io, `--after must be a sequence number, got \`${options.after}\``);
  if (options.format === 'otlp') {
    if (!options.otlpUrl)
      return usage(io, '--format otlp needs --otlp-url (e.g. http://127.0.0.1:4318/v1/logs)');
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
