/**
 * @module bench/agentdojo/trace-ends
 * Issue 18's AgentDojo measurement, first half: for every call the replay refused (deny or approve),
 * the ends of its provenance trace (inspect/provenance-trace, as `reins audit trace` walks it) with,
 * for untrusted content, the whole value of the field it ended at (from the recorded output). Reads
 * the audit log a `reins replay --db` wrote and its decisions file; writes one JSON line per refused
 * call. `provenance-share.py` then joins them with the benchmark's own labels (which calls carried out
 * the attack) and its injected texts.
 *
 *   node dist-bench/bench/agentdojo/trace-ends.js <replay.db> <decisions.jsonl> <out.jsonl>
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findCallRecords } from '../../src/harness/open-calls.js';
import {
  listTraceEnds,
  type RecordLookup,
  resolveFieldPointer,
  traceProvenance,
} from '../../src/inspect/provenance-trace.js';
import { SqliteAuditLog } from '../../src/store/sqlite/sqlite-audit-log.js';

interface DecisionLine {
  readonly trace: string;
  readonly index: number;
  readonly decision: string;
}

interface EndLine {
  readonly kind: string;
  readonly trust?: string;
  readonly tool?: string;
  readonly field?: string;
  /** For untrusted content: the whole value of the field, as recorded. */
  readonly value?: string;
}

async function main(): Promise<void> {
  const [db, decisionsFile, outFile] = process.argv.slice(2);
  if (db === undefined || decisionsFile === undefined || outFile === undefined) {
    process.stderr.write('usage: trace-ends <replay.db> <decisions.jsonl> <out.jsonl>\n');
    process.exit(2);
  }
  // a copy: opening the log may sign a checkpoint on close, and the replay's file stays as written
  const scratch = mkdtempSync(join(tmpdir(), 'reins-trace-ends-'));
  copyFileSync(db, join(scratch, 'replay.db'));
  const log = new SqliteAuditLog({ path: join(scratch, 'replay.db') });
  try {
    const refused = readFileSync(decisionsFile, 'utf8')
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as DecisionLine)
      .filter((line) => line.decision === 'deny' || line.decision === 'approve');
    const out: string[] = [];
    const intentsBySession = new Map<string, string[]>();
    for (const line of refused) {
      const sessionId = `replay:${line.trace}`;
      let intents = intentsBySession.get(sessionId);
      if (intents === undefined) {
        const records = await log.query({ sessionId, kind: 'call-intent', limit: 1_000 });
        intents = records.map((record) => record.event.decisionId);
        intentsBySession.set(sessionId, intents);
      }
      const decisionId = intents[line.index];
      if (decisionId === undefined) throw new Error(`no intent for call ${line.index} of ${line.trace}`);
      out.push(JSON.stringify({ ...line, decisionId, ends: await endsOf(log, sessionId, decisionId) }));
    }
    writeFileSync(outFile, `${out.join('\n')}\n`);
    process.stdout.write(`${out.length} refused calls traced into ${outFile}\n`);
  } finally {
    await log.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The ends of a call's trace; an untrusted end with the whole value its field held. */
async function endsOf(log: SqliteAuditLog, sessionId: string, decisionId: string): Promise<EndLine[]> {
  const lookup: RecordLookup = (session, id) => findCallRecords(log, session ?? sessionId, id);
  const result = await traceProvenance(decisionId, lookup, { sessionId });
  if (!result.ok) return [{ kind: result.code }];
  const ends: EndLine[] = [];
  for (const { end } of listTraceEnds(result.trace)) {
    if (end.kind !== 'untrusted-content') {
      ends.push({ kind: end.kind });
      continue;
    }
    const source = end.call.decisionId;
    const session = end.call.sessionId ?? sessionId;
    const outcome = source === undefined ? undefined : (await findCallRecords(log, session, source)).outcome;
    const resolved =
      outcome?.result !== undefined && end.field !== undefined
        ? resolveFieldPointer(outcome.result, end.field)
        : { found: false as const };
    ends.push({
      kind: end.kind,
      trust: end.trust,
      ...(end.call.tool !== undefined ? { tool: end.call.tool } : {}),
      ...(end.field !== undefined ? { field: end.field } : {}),
      ...(resolved.found
        ? { value: typeof resolved.value === 'string' ? resolved.value : JSON.stringify(resolved.value) }
        : {}),
    });
  }
  return ends;
}

await main();
