/**
 * @module store/identity-records
 * What both identity stores (SQLite, PostgreSQL) share: checking records on the way in and out, the
 * rules of an agent's state changes and what each change tells other processes, decoding change rows,
 * and time parsing. One place, so that both backends accept and refuse the same.
 */
import type { z } from 'zod';
import { describeError, ReinsError } from '../spec/errors.js';
import {
  type AgentRecordV1,
  AgentRecordV1Schema,
  type AgentState,
  type IdentityChange,
  type RevocationV1,
  RevocationV1Schema,
} from '../spec/identity.js';

/** A row to append to `identity_changes`: what changed, and what listeners are told about it. */
export interface ChangeEntry {
  readonly kind: IdentityChange['kind'];
  readonly ref: string;
  readonly body: unknown;
}

/** The insert of a new agent found its id taken. */
export function agentExists(id: string): ReinsError {
  return new ReinsError('conflict', `agent \`${id}\` already exists`);
}

export function agentCreated(record: AgentRecordV1): ChangeEntry {
  return { kind: 'agent', ref: record.id, body: { created: true, state: record.state } };
}

/**
 * An agent's state change, from its stored body (read under the write's lock): an unknown agent is
 * `not_found`, a retired one cannot change again (`conflict`).
 */
export function agentStateChange(
  id: string,
  storedBody: string | undefined,
  next: AgentState,
  change: { by: string; reason: string },
): { updated: AgentRecordV1; entry: ChangeEntry } {
  if (storedBody === undefined) throw new ReinsError('not_found', `unknown agent \`${id}\``);
  const current = readRecord(AgentRecordV1Schema, storedBody, `agent \`${id}\``);
  if (current.state === 'retired') {
    throw new ReinsError('conflict', `agent \`${id}\` is retired: its state cannot change`);
  }
  const updated: AgentRecordV1 = { ...current, state: next, updatedAt: new Date().toISOString() };
  const body = { from: current.state, state: next, by: change.by, reason: change.reason };
  return { updated, entry: { kind: 'agent', ref: id, body } };
}

/** A revocation that was stored (a longer `until` than any before it for the same subject). */
export function revocationStored(record: RevocationV1): ChangeEntry {
  return { kind: 'revocation', ref: `${record.kind}:${record.id}`, body: record };
}

/** A row of the `identity_changes` table, as either driver returns it. */
export interface ChangeRowFields {
  readonly id: number | string;
  readonly kind: string;
  readonly ref: string;
  readonly body: string | null;
}

export function toChange(row: ChangeRowFields): IdentityChange | undefined {
  switch (row.kind) {
    case 'agent':
      return { kind: 'agent', id: row.ref };
    case 'key':
      return { kind: 'key', kid: row.ref };
    case 'revocation':
      return {
        kind: 'revocation',
        revocation: readRecord(RevocationV1Schema, row.body ?? '', `change ${row.id}`),
      };
    default:
      // written by a newer Reins: not for this version's listeners
      return undefined;
  }
}

/** Parses input at the boundary: a malformed record is refused before it reaches the store. */
export function validateInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new ReinsError('invalid_input', `invalid ${what}: ${describeIssues(parsed.error)}`);
  }
  return parsed.data;
}

/** Parses a stored body: a row that is not a valid record (corrupt, hand-edited) fails clearly. */
export function readRecord<S extends z.ZodType>(schema: S, body: string, what: string): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    throw new ReinsError('internal_error', `corrupt ${what} in the identity store: ${describeError(error)}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new ReinsError(
      'internal_error',
      `corrupt ${what} in the identity store: ${describeIssues(parsed.error)}`,
    );
  }
  return parsed.data;
}

export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function timeOf(now: Date): number {
  const time = now.getTime();
  if (Number.isNaN(time)) throw new ReinsError('invalid_input', 'invalid time: not a valid date');
  return time;
}

export function epochOf(time: string, field: string): number {
  const epoch = Date.parse(time);
  if (Number.isNaN(epoch))
    throw new ReinsError('invalid_input', `invalid ${field} \`${time}\`: not an ISO 8601 time`);
  return epoch;
}
