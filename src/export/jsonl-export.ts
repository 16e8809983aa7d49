/**
 * @module export/jsonl-export
 * Exports the audit log as JSON Lines that can be re-verified outside Reins, and reads such an export
 * back.
 *
 * Format (`reins-audit-jsonl/v1`): UTF-8, one JSON object per line, each line ended by `\n`.
 *
 * 1. One `record` line per record, in sequence order:
 *
 *    {"type":"record","seq":1,"prevHash":"<64 hex>","hash":"<64 hex>","time":"2026-01-01T09:00:00.000Z",
 *     "kind":"call-intent","decisionId":"d1","sessionId":"s1","agentId":"agent-a","tool":"crm/db.select",
 *     "effect":"allow","body":"<the exact stored JSON string of the event>","event":{...}}
 *
 *    `seq`, `prevHash`, `hash`, the index fields (`time` … `effect`) and `body` are the record exactly as
 *    stored (`ChainedRecord`). The chain hash is
 *    `sha256(prevHash \n seq \n time \n kind \n decisionId \n sessionId \n agentId \n tool \n effect \n body)`
 *    (see audit/chain.ts; `prevHash` of record 1 is 64 zeros), so the chain can be re-verified from these
 *    fields alone. `event` is `body` parsed (an `AuditEventV1`), for convenience only: it is not covered by
 *    the hash, and is left out when `body` is not valid JSON. `readJsonLines` rejects a line whose `event`
 *    differs from its `body`.
 *
 * 2. Then (unless `includeCheckpoints: false`) one `checkpoint` line per signed checkpoint, in sequence
 *    order: `{"type":"checkpoint","v":1,"seq":10,"hash":"<64 hex>","time":"...","keyId":"ed25519:...",
 *    "signature":"<base64>"}` — an `AuditCheckpointV1` with `type` added. Only checkpoints that fall within
 *    the exported range are written: from `afterSeq` (a checkpoint at `afterSeq` itself anchors a partial
 *    or pruned export) up to the last exported record.
 *
 * Verify an export with `verifyChain(records, { checkpoints, anchor, publicKey })` on the result of
 * `readJsonLines`.
 */
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { type AuditCheckpointV1, AuditCheckpointV1Schema } from '../spec/audit-checkpoint.js';
import type { ChainedRecord } from '../spec/audit-event.js';
import { ReinsError } from '../spec/errors.js';
import type { AuditLog } from '../store/audit-log.js';

export interface JsonLinesExportOptions {
  /** Export only the records after this sequence number. Default: from the first kept record. */
  readonly afterSeq?: number;
  /** Append the signed checkpoints of the exported range. Default true. */
  readonly includeCheckpoints?: boolean;
}

export interface JsonLinesExportReport {
  /** Record lines written. */
  readonly records: number;
  /** Checkpoint lines written. */
  readonly checkpoints: number;
}

/**
 * Writes the log as JSON Lines (format above). `write` is called once per line with the complete line,
 * `\n` included, and awaited before the next one, so it can write to a stream or file directly.
 */
export async function exportJsonLines(
  log: AuditLog,
  write: (line: string) => void | Promise<void>,
  options: JsonLinesExportOptions = {},
): Promise<JsonLinesExportReport> {
  const afterSeq = options.afterSeq ?? 0;
  let records = 0;
  let firstSeq: number | undefined;
  let lastSeq: number | undefined;
  for await (const record of log.records({ afterSeq })) {
    await write(`${JSON.stringify(recordLine(record))}\n`);
    records++;
    firstSeq ??= record.seq;
    lastSeq = record.seq;
  }
  let checkpoints = 0;
  if (options.includeCheckpoints !== false && firstSeq !== undefined && lastSeq !== undefined) {
    const from = firstSeq - 1;
    const to = lastSeq;
    for (const checkpoint of await log.checkpoints()) {
      // A checkpoint signed after the last record we read would make the export look truncated.
      if (checkpoint.seq < from || checkpoint.seq > to) continue;
      await write(`${JSON.stringify({ type: 'checkpoint', ...checkpoint })}\n`);
      checkpoints++;
    }
  }
  return { records, checkpoints };
}

function recordLine(record: ChainedRecord): Record<string, unknown> {
  const line: Record<string, unknown> = {
    type: 'record',
    seq: record.seq,
    prevHash: record.prevHash,
    hash: record.hash,
    time: record.time,
    kind: record.kind,
    decisionId: record.decisionId,
    sessionId: record.sessionId,
    agentId: record.agentId,
    tool: record.tool,
    effect: record.effect,
    body: record.body,
  };
  const event = parseBody(record.body);
  if (event.ok) line.event = event.value;
  return line;
}

function parseBody(body: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}

const HashSchema = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters');

const RecordLineSchema = z.strictObject({
  type: z.literal('record'),
  seq: z.number().int().positive(),
  prevHash: HashSchema,
  hash: HashSchema,
  time: z.string(),
  kind: z.string(),
  decisionId: z.string(),
  sessionId: z.string(),
  agentId: z.string(),
  tool: z.string(),
  effect: z.string(),
  body: z.string(),
  event: z.unknown().optional(),
});

const CheckpointLineSchema = AuditCheckpointV1Schema.extend({ type: z.literal('checkpoint') });

export interface JsonLinesImport {
  /** The records, in the order of the file (verifyChain reports any gap or reordering). */
  readonly records: ChainedRecord[];
  /** The signed checkpoints, in the order of the file. */
  readonly checkpoints: AuditCheckpointV1[];
  /**
   * For an export that does not start at record 1 (partial or pruned): the checkpoint of the record just
   * before the first one, which verification starts from (`verifyChain`'s `anchor`), if the export has it.
   */
  readonly anchor?: AuditCheckpointV1;
}

/**
 * Parses a JSON Lines export (format above). Blank lines are ignored. Throws a `ReinsError`
 * (`invalid_input`) naming the first bad line, e.g. `line 7: hash: expected 64 lowercase hex characters`.
 * Checks the structure only: run `verifyChain` on the result to check the chain itself.
 */
export function readJsonLines(text: string): JsonLinesImport {
  const records: ChainedRecord[] = [];
  const checkpoints: AuditCheckpointV1[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const raw = (lines[index] as string).replace(/\r$/, '');
    if (raw.trim() === '') continue;
    const lineNumber = index + 1;
    const bad = (message: string) =>
      new ReinsError('invalid_input', `line ${lineNumber}: ${message}`, { line: lineNumber });
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (error) {
      throw bad(`not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
    }
    const type = typeof json === 'object' && json !== null ? (json as { type?: unknown }).type : undefined;
    if (type === 'record') {
      const parsed = RecordLineSchema.safeParse(json);
      if (!parsed.success) throw bad(describeIssues(parsed.error));
      const { type: _type, event, ...record } = parsed.data;
      if (event !== undefined) {
        const body = parseBody(record.body);
        if (!body.ok) throw bad(`\`body\` is not valid JSON: ${body.message}`);
        if (!isDeepStrictEqual(body.value, event)) throw bad('`event` differs from `body`');
      }
      records.push(record);
    } else if (type === 'checkpoint') {
      const parsed = CheckpointLineSchema.safeParse(json);
      if (!parsed.success) throw bad(describeIssues(parsed.error));
      const { type: _type, ...checkpoint } = parsed.data;
      checkpoints.push(checkpoint);
    } else {
      throw bad(
        type === undefined
          ? 'expected an object with `type` "record" or "checkpoint"'
          : `unknown type \`${String(type)}\` (expected "record" or "checkpoint")`,
      );
    }
  }
  const first = records[0];
  const anchor =
    first && first.seq > 1 ? checkpoints.find((checkpoint) => checkpoint.seq === first.seq - 1) : undefined;
  return anchor ? { records, checkpoints, anchor } : { records, checkpoints };
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.map(String).join('.') || '(line)'}: ${issue.message}`)
    .join('; ');
}
