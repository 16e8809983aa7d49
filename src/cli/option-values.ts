/**
 * @module cli/option-values
 * Parsers for numeric and duration options, given to commander so that a bad value is refused before
 * anything runs, with what was given and what is accepted (`--ttl abc` used to end in "got NaN"; an
 * `audit query --effect nonsense` matched nothing, `--from 86` meant 1986). Every command line builds
 * these options, `reins --help` included, so this module loads no schema library: the vocabulary of
 * `--effect` and `--kind` is written out here, and option-values.test.ts holds it to spec's schemas.
 */
import { InvalidArgumentError } from 'commander';
import type { AuditEventV1 } from '../spec/audit-event.js';
import { parseDuration } from '../spec/duration-text.js';

const WHOLE = /^\d+$/;

function refuse(expected: string, value: string): never {
  throw new InvalidArgumentError(`give ${expected}; got \`${value}\``);
}

/** 1, 2, 3, ... */
export function positiveInteger(value: string): number {
  const number = WHOLE.test(value) ? Number(value) : Number.NaN;
  if (!(Number.isSafeInteger(number) && number >= 1)) refuse('a positive integer (1, 2, 3, ...)', value);
  return number;
}

/** A sequence number: 0, 1, 2, ... */
export function sequenceNumber(value: string): number {
  const number = WHOLE.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(number)) refuse('a sequence number (an integer, 0 or more)', value);
  return number;
}

/** A lifetime in whole seconds: `90` (seconds), `90s`, `30m`, `1h`. */
export function durationSeconds(value: string): number {
  const ms = WHOLE.test(value) ? Number(value) * 1_000 : parseDuration(value);
  if (ms === undefined || !(ms >= 1_000) || ms % 1_000 !== 0 || !Number.isSafeInteger(ms))
    refuse('a duration such as `30m` or `1h` (units s, m, h, d), or whole seconds such as `900`', value);
  return ms / 1_000;
}

/** A timeout in milliseconds, as a string (what the commands take): `60000`, `30s`, `5m`. */
export function durationMilliseconds(value: string): string {
  const ms = WHOLE.test(value) ? Number(value) : parseDuration(value);
  if (ms === undefined || !(ms >= 1) || !Number.isSafeInteger(ms))
    refuse('a duration such as `30s` or `5m` (units ms, s, m, h, d), or milliseconds such as `60000`', value);
  return String(ms);
}

/**
 * What `audit query --effect` can match: the fixed effects of each kind of record (spec's EffectSchema,
 * OutcomeSchema, the tool pinning status, CREDENTIAL_REJECTED_EFFECT, RESTORE_EFFECT), or an operator action.
 */
export const FIXED_EFFECTS = [
  { values: ['allow', 'deny', 'approve'], of: 'intents' },
  { values: ['ok', 'error', 'denied', 'expired', 'cancelled', 'abandoned'], of: 'outcomes' },
  { values: ['pinned', 'quarantined', 'refused'], of: 'tool pinning' },
  { values: ['rejected'], of: 'refused credentials' },
  { values: ['restored'], of: 'restores' },
] as const;
/** Operator actions are dotted verbs (`approval.approve`, `policy.reload-rejected`), an open set. */
const OPERATOR_ACTION = /^[a-z][a-z-]*(\.[a-z][a-z-]*)+$/;

const KNOWN_EFFECTS = `${FIXED_EFFECTS.map(({ values, of }) => `${values.join(', ')} (${of})`).join('; ')}; or an operator action such as approval.approve`;
/** The kinds of audit record, in the order of spec's AuditEventV1Schema. */
export const AUDIT_KINDS: readonly AuditEventV1['kind'][] = [
  'call-intent',
  'call-outcome',
  'credential-rejected',
  'tool-pinning',
  'operator-action',
  'restore',
];

/** For `--help`: what `--effect` and `--kind` accept. */
export const AUDIT_EFFECT_HELP = KNOWN_EFFECTS;
export const AUDIT_KIND_HELP = AUDIT_KINDS.join(', ');

/** `--effect`: a value some record can have; anything else matched nothing and printed "0 records". */
export function auditEffect(value: string): string {
  if (FIXED_EFFECTS.some(({ values }) => (values as readonly string[]).includes(value))) return value;
  if (OPERATOR_ACTION.test(value)) return value;
  refuse(`one of ${KNOWN_EFFECTS}`, value);
}

/** `--kind`: one of the kinds of audit record. */
export function auditKind(value: string): AuditEventV1['kind'] {
  const kind = AUDIT_KINDS.find((known) => known === value);
  if (kind === undefined) refuse(`one of ${AUDIT_KINDS.join(', ')}`, value);
  return kind;
}

// a date, or a date-time with its zone: records are kept in UTC, a time without a zone is ambiguous
const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,3})?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d))?$/;

/** `--from`, `--to`: an ISO 8601 date (midnight UTC) or date-time with a zone, as a UTC ISO string. */
export function isoTime(value: string): string {
  const parts = ISO_8601.exec(value);
  const [year, month, day] = (parts?.slice(1, 4) ?? []).map(Number);
  const date = parts ? new Date(Date.UTC(year ?? 0, (month ?? 0) - 1, day ?? 0)) : undefined;
  // Date.parse takes 2026-02-30 for 2 March, and `86` for 1986: check the calendar date ourselves
  const real = date !== undefined && date.getUTCFullYear() === year && date.getUTCMonth() + 1 === month;
  if (!(real && date.getUTCDate() === day))
    refuse(
      'an ISO 8601 date or date-time with a zone, such as 2026-12-06 (midnight UTC) or 2026-12-06T10:00:00Z',
      value,
    );
  return new Date(value).toISOString();
}
