/**
 * @module store/audit-query
 * `AuditLog.query` for every backend: which columns each filter tests, the order and the limit. The
 * SQLite log filters its lookup table joined to the records, the PostgreSQL log the records table
 * itself; both run the statement built here.
 */
import type { AuditEventV1 } from '../spec/audit-event.js';
import type { AuditIndexRow, AuditQuery, AuditRecordView } from './audit-log.js';
import { AUDIT_QUERY_LIMITS, effectiveLimit } from './limits.js';
import { type Condition, type Placeholder, type Statement, selectStatement } from './sql-builder.js';

/** Where a backend reads from: the columns `seq, hash, body` and the table (or join) holding them. */
export interface AuditQuerySource {
  readonly columns: string;
  readonly from: string;
  /** Prefix of the searchable columns (`l.` for a joined lookup table). */
  readonly alias?: string;
  /** Prefix of the columns only the records table has (`e.` when a lookup table is joined). */
  readonly recordAlias?: string;
}

/** The filters of an audit query; all given ones must hold. */
export function auditQueryConditions(query: AuditQuery): Condition[] {
  return [
    { column: 'agent_id', operator: '=', value: query.agentId },
    { column: 'session_id', operator: '=', value: query.sessionId },
    { column: 'tool', operator: '=', value: query.tool },
    { column: 'effect', operator: '=', value: query.effect },
    { column: 'kind', operator: '=', value: query.kind },
    { column: 'time', operator: '>=', value: query.from },
    { column: 'time', operator: '<', value: query.to },
    { column: 'seq', operator: '>', value: query.afterSeq },
    { column: 'seq', operator: '<', value: query.beforeSeq },
    // tested on the rows the other filters select (no index of its own: see decision 0002)
    { column: 'decision_id', operator: '=', value: query.decisionId, onRecords: true },
  ];
}

export function auditQueryStatement(
  query: AuditQuery,
  source: AuditQuerySource,
  placeholder: Placeholder,
): Statement {
  const alias = source.alias ?? '';
  return selectStatement(
    {
      columns: source.columns,
      from: source.from,
      conditions: auditQueryConditions(query),
      alias,
      recordAlias: source.recordAlias ?? alias,
      orderBy: `${alias}seq ${query.order === 'desc' ? 'desc' : 'asc'}`,
      limit: effectiveLimit(query.limit, AUDIT_QUERY_LIMITS),
    },
    placeholder,
  );
}

/** The columns `queryIndex` selects, named as AuditIndexRow's fields (prefixed by each backend). */
export const INDEX_COLUMNS = ['seq', 'time', 'kind', 'decision_id', 'tool', 'effect'] as const;

/** `<prefix>column as "field"` for each of INDEX_COLUMNS; `decision_id` may come from another prefix. */
export function indexColumns(prefix: string, decisionIdPrefix = prefix): string {
  return INDEX_COLUMNS.map((column) =>
    column === 'decision_id'
      ? `${decisionIdPrefix}decision_id as "decisionId"`
      : `${prefix}${column} as "${column}"`,
  ).join(', ');
}

/** A row of `queryIndex` (a `bigint` seq comes as a string from PostgreSQL). */
export function toIndexRow(row: Omit<AuditIndexRow, 'seq'> & { seq: number | string }): AuditIndexRow {
  return {
    seq: Number(row.seq),
    time: row.time,
    kind: row.kind,
    decisionId: row.decisionId,
    tool: row.tool,
    effect: row.effect,
  };
}

/** A row of the query (a `bigint` seq comes as a string from PostgreSQL). */
export function toRecordView(row: { seq: number | string; hash: string; body: string }): AuditRecordView {
  return { seq: Number(row.seq), hash: row.hash, event: JSON.parse(row.body) as AuditEventV1 };
}
