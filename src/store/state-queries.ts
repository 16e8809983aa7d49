/**
 * @module store/state-queries
 * The reads of the identity and oversight stores that filter, order or limit, built once for both
 * backends: approval and session lists (newest first, by store/limits' rule), agents and the
 * revocations in force. A backend passes its table name and placeholder syntax and runs the statement.
 */
import type { ApprovalStatus } from '../spec/oversight.js';
import type { SessionStatus } from '../spec/tool-call.js';
import { effectiveLimit, LIST_LIMITS } from './limits.js';
import { type Condition, type Placeholder, type Statement, selectStatement } from './sql-builder.js';

/** `ApprovalStore.list`: newest first; `select body`. */
export function approvalListStatement(
  filter: { status?: ApprovalStatus; sessionId?: string; limit?: number },
  table: string,
  placeholder: Placeholder,
): Statement {
  const conditions: Condition[] = [
    { column: 'status', operator: '=', value: filter.status },
    { column: 'session_id', operator: '=', value: filter.sessionId },
  ];
  return listStatement(table, conditions, 'created_at desc, id desc', filter.limit, placeholder);
}

/** `SessionControlStore.list`: most recently changed first; `select body`. */
export function sessionListStatement(
  filter: { status?: SessionStatus; agentId?: string; limit?: number },
  table: string,
  placeholder: Placeholder,
): Statement {
  const conditions: Condition[] = [
    { column: 'status', operator: '=', value: filter.status },
    { column: 'agent_id', operator: '=', value: filter.agentId },
  ];
  return listStatement(table, conditions, 'updated_at desc, id desc', filter.limit, placeholder);
}

function listStatement(
  table: string,
  conditions: readonly Condition[],
  orderBy: string,
  limit: number | undefined,
  placeholder: Placeholder,
): Statement {
  return selectStatement(
    { columns: 'body', from: table, conditions, orderBy, limit: effectiveLimit(limit, LIST_LIMITS) },
    placeholder,
  );
}

/** Every agent, by id: `body` (the records) or `id` (a resynchronisation). */
export function agentListSql(table: string, column: 'body' | 'id'): string {
  return `select ${column} from ${table} order by id`;
}

/** The revocations still in force at the one parameter (epoch ms), in a stable order; `select body`. */
export function liveRevocationsSql(table: string, placeholder: Placeholder): string {
  return `select body from ${table} where until > ${placeholder(1)} order by kind, id`;
}
