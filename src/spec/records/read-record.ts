/**
 * @module spec/records/read-record
 * Reads a stored audit record body: dispatches on its (`kind`, `v`) to the schema of that version of
 * that kind. A kind or version this code does not know is reported as such, never dropped or guessed
 * at. Fields a known version does not define are ignored and named (`ignoredFields`): by the rule for
 * adding fields (docs/record-format.md) they were added later, optional, and safe to ignore.
 * Verifying the hash chain never depends on this: the chain covers the exact stored body.
 */
import type { z } from 'zod';
import { CALL_INTENT } from './call-intent.js';
import { CALL_OUTCOME } from './call-outcome.js';
import { CREDENTIAL_REJECTED } from './credential-rejected.js';
import { OPERATOR_ACTION } from './operator-action.js';
import { RESTORE } from './restore.js';
import { TOOL_PINNING } from './tool-pinning.js';

/** Every record kind, each with every version this code reads. */
export const RECORD_KINDS = [
  CALL_INTENT,
  CALL_OUTCOME,
  CREDENTIAL_REJECTED,
  TOOL_PINNING,
  OPERATOR_ACTION,
  RESTORE,
] as const;

/** A record of any kind and any version this code reads. */
export type AuditRecordEvent = z.infer<(typeof RECORD_KINDS)[number]['versions'][number]>;

const BY_KIND: ReadonlyMap<string, (typeof RECORD_KINDS)[number]> = new Map(
  RECORD_KINDS.map((definition) => [definition.kind, definition]),
);

export type RecordProblem =
  /** The body is not JSON, or not an object with a string `kind` and an integer `v`. */
  | 'not_a_record'
  /** No record kind of that name: written by a newer version (or not by Reins). */
  | 'unknown_kind'
  /** A known kind, but a version of it this code does not read: written by a newer version. */
  | 'unknown_version'
  /** A known kind and version, but the body does not match its schema. */
  | 'invalid';

export type RecordReading =
  | {
      readonly ok: true;
      readonly event: AuditRecordEvent;
      /** Dotted paths of fields the record's version does not define (added later), ignored. */
      readonly ignoredFields: readonly string[];
    }
  | {
      readonly ok: false;
      readonly problem: RecordProblem;
      readonly kind?: string;
      readonly v?: number;
      readonly message: string;
    };

/** Reads a stored body (the exact string that was hashed). */
export function readAuditRecord(body: string): RecordReading {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { ok: false, problem: 'not_a_record', message: 'the body is not JSON' };
  }
  return readAuditRecordValue(value);
}

/** Reads a body already parsed from JSON. */
export function readAuditRecordValue(value: unknown): RecordReading {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, problem: 'not_a_record', message: 'the body is not a JSON object' };
  const { kind, v } = value as { kind?: unknown; v?: unknown };
  if (typeof kind !== 'string' || typeof v !== 'number' || !Number.isInteger(v))
    return { ok: false, problem: 'not_a_record', message: 'the body has no string `kind` and integer `v`' };
  const definition = BY_KIND.get(kind);
  if (definition === undefined)
    return {
      ok: false,
      problem: 'unknown_kind',
      kind,
      v,
      message: `unknown record kind \`${kind}\` (v${v})`,
    };
  const schema: z.ZodType<AuditRecordEvent> | undefined = Object.hasOwn(definition.versions, v)
    ? definition.versions[v]
    : undefined;
  if (schema === undefined) {
    const known = Object.keys(definition.versions).join(', ');
    return {
      ok: false,
      problem: 'unknown_version',
      kind,
      v,
      message: `\`${kind}\` v${v} is newer than this reader (it reads v${known})`,
    };
  }
  return parseVersion(schema, value, kind, v);
}

/** Most rounds of dropping unknown fields (each drops every one reported; nested ones may show next). */
const MAX_ROUNDS = 4;

function parseVersion(
  schema: z.ZodType<AuditRecordEvent>,
  value: object,
  kind: string,
  v: number,
): RecordReading {
  let candidate: unknown = value;
  const ignoredFields: string[] = [];
  for (let round = 0; ; round++) {
    const parsed = schema.safeParse(candidate);
    if (parsed.success) return { ok: true, event: parsed.data, ignoredFields };
    const { issues } = parsed.error;
    const unrecognized = issues.filter((issue) => issue.code === 'unrecognized_keys');
    // anything but unknown fields is a body that does not match its version
    if (unrecognized.length === 0 || unrecognized.length < issues.length || round === MAX_ROUNDS) {
      const problems = issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
      return {
        ok: false,
        problem: 'invalid',
        kind,
        v,
        message: `not a valid \`${kind}\` v${v}: ${problems.join('; ')}`,
      };
    }
    if (candidate === value) candidate = structuredClone(value);
    for (const issue of unrecognized) {
      for (const key of issue.keys) {
        dropField(candidate, [...issue.path, key]);
        ignoredFields.push([...issue.path, key].map(String).join('.'));
      }
    }
  }
}

function dropField(root: unknown, path: readonly PropertyKey[]): void {
  let node = root;
  for (const key of path.slice(0, -1)) node = (node as Record<PropertyKey, unknown>)[key];
  delete (node as Record<PropertyKey, unknown>)[path.at(-1) as PropertyKey];
}
