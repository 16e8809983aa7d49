/**
 * @module spec/records/record-kind
 * What every audit record kind declares, once, in its own module beside this one: its name, the version
 * writers write now, the schema of every version readers still read (by `v`), and how its searchable
 * fields are derived. The rules for changing a kind are in docs/record-format.md.
 */
import type { z } from 'zod';

/**
 * Searchable copies of some event fields, stored beside the body. They are covered by the record's
 * hash, so editing one to hide a record from queries breaks the chain like any other edit.
 */
export interface AuditIndexFields {
  /** ISO 8601. */
  readonly time: string;
  readonly kind: string;
  readonly decisionId: string;
  readonly sessionId: string;
  readonly agentId: string;
  /** `server/name`. */
  readonly tool: string;
  /** The decision's effect for an intent, the outcome for an outcome. */
  readonly effect: string;
}

/** One record kind: every version of it this code reads, and the one it writes. */
export interface RecordKind<Kind extends string, Event extends { readonly kind: Kind; readonly v: number }> {
  readonly kind: Kind;
  /** The version writers write. Older versions stay in `versions` for as long as logs hold them (forever). */
  readonly current: Event['v'];
  /** The schema of each version, by `v`. Never edited in a way that rejects a record it once accepted. */
  readonly versions: Readonly<Record<number, z.ZodType<Event>>>;
  /** The searchable fields of an event of this kind (any version); must never change for a stored version. */
  readonly indexFields: (event: Event) => AuditIndexFields;
}
