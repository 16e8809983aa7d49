/**
 * @module store/sqlite/sqlite-audit-writer
 * Appends batches of serialised events to the SQLite audit table in one immediate transaction,
 * linking each to the chain head read inside that transaction (so several writers, in this process or
 * others, still form one chain). Used directly for in-memory logs and inside the writer worker thread
 * for files.
 */
import type Database from 'better-sqlite3';
import { linkRecord } from '../../audit/chain.js';

/** An event ready to store: its exact body and the searchable copies of some of its fields. */
export interface PreparedEvent {
  readonly body: string;
  readonly time: string;
  readonly kind: string;
  readonly decisionId: string;
  readonly sessionId: string;
  readonly agentId: string;
  readonly tool: string;
  readonly effect: string;
}

const FIELDS = ['body', 'time', 'kind', 'decisionId', 'sessionId', 'agentId', 'tool', 'effect'] as const;

/** Lays events out as one flat string array, field by field, for cheap transfer to the writer thread. */
export function flattenEvents(events: readonly PreparedEvent[]): string[] {
  const fields: string[] = [];
  for (const event of events) for (const field of FIELDS) fields.push(event[field]);
  return fields;
}

export function unflattenEvents(fields: readonly string[]): PreparedEvent[] {
  const events: PreparedEvent[] = [];
  for (let offset = 0; offset + FIELDS.length <= fields.length; offset += FIELDS.length) {
    const [body, time, kind, decisionId, sessionId, agentId, tool, effect] = fields.slice(
      offset,
      offset + FIELDS.length,
    ) as string[];
    events.push({ body, time, kind, decisionId, sessionId, agentId, tool, effect } as PreparedEvent);
  }
  return events;
}

export interface WrittenRecord {
  readonly seq: number;
  readonly hash: string;
}

export function createBatchWriter(
  database: Database.Database,
): (events: readonly PreparedEvent[]) => WrittenRecord[] {
  const insert = database.prepare(
    `insert into audit_events (seq, prev_hash, hash, body, time, kind, decision_id, session_id, agent_id, tool, effect)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const head = database.prepare<[], WrittenRecord>(
    'select seq, hash from audit_events order by seq desc limit 1',
  );
  const transaction = database.transaction((events: readonly PreparedEvent[]) => {
    let current = head.get();
    const written: WrittenRecord[] = [];
    for (const event of events) {
      const record = linkRecord(current, event.body);
      insert.run(
        record.seq,
        record.prevHash,
        record.hash,
        event.body,
        event.time,
        event.kind,
        event.decisionId,
        event.sessionId,
        event.agentId,
        event.tool,
        event.effect,
      );
      current = record;
      written.push({ seq: record.seq, hash: record.hash });
    }
    return written;
  });
  return (events) => transaction.immediate(events);
}

/** Connection settings shared by every connection to an audit file. */
export function configureConnection(database: Database.Database): void {
  database.pragma('journal_mode = WAL');
  // FULL: a commit is on disk before its appends resolve (durable intent before execution).
  database.pragma('synchronous = FULL');
  database.pragma('busy_timeout = 5000');
}
