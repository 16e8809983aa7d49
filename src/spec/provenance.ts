/**
 * @module spec/provenance
 * Argument-level provenance as a call's intent record carries it (issue 18, decision 0026): for each
 * argument value, where it came from — the output of an earlier call (its decision id, the field of
 * that output, and how far that field is trusted), the user's declared request, or nowhere Reins saw
 * (the model's own). And the user's request itself, when the integration declared one with the call.
 *
 * It is inside the hashed body of the intent, so the chain of evidence is as tamper-evident as the log.
 */
import { z } from 'zod';

/**
 * How far the place a value came from is trusted:
 * - `user`: the user's declared request;
 * - `trusted`: a structured or catalogue-trusted field of an output;
 * - `untrusted`: text others wrote (an e-mail body, a web page, a review);
 * - `designated`: untrusted text the user pointed at (the file or page they named);
 * - `undeclared`: the output of a tool the policy's catalogue says nothing about;
 * - `none`: seen nowhere — the model's own value (itself a forensic fact).
 */
export const OriginTrustSchema = z.enum(['user', 'trusted', 'untrusted', 'designated', 'undeclared', 'none']);
export type OriginTrust = z.infer<typeof OriginTrustSchema>;

/** One argument value (or an identifier inside it) and one place it was seen. */
export const ArgumentSourceSchema = z.strictObject({
  /** JSON Pointer (RFC 6901) of the value in the call's arguments, e.g. `/to` or `/recipients/0`. */
  arg: z.string(),
  /**
   * What matched: `value` (the whole value), an identifier kind found inside it (`email`, `iban`,
   * `url`, ...), or `phrase` (the value found as a phrase inside untrusted text).
   */
  match: z.string().min(1),
  trust: OriginTrustSchema,
  /**
   * Decision id of the call whose output held the value, or, for `user`, of the call whose intent
   * record carries the declared request. Absent for `none`, and for `user` when the request was
   * declared before the session's records began (pruned) or in a way that left no record.
   */
  from: z.string().min(1).optional(),
  /** `server/name` of that call's tool. Absent with `from`, and for `user`. */
  tool: z.string().optional(),
  /** JSON Pointer of the field in that call's recorded output. Absent for `user` and `none`. */
  field: z.string().optional(),
  /** The session of that call, when it is not this call's session (a delegation hop). */
  session: z.string().optional(),
});
export type ArgumentSource = z.infer<typeof ArgumentSourceSchema>;

/** The user's request as declared with a call, redacted as the policy says. */
export const DeclaredRequestSchema = z.strictObject({
  text: z.string(),
  /**
   * Who declared it: `call` (a per-call declaration: the remote protocol, an adapter, an MCP client's
   * `_meta`), `session` (declared for the whole session by an MCP client).
   */
  via: z.enum(['call', 'session']),
});
export type DeclaredRequest = z.infer<typeof DeclaredRequestSchema>;

export const CallProvenanceRecordSchema = z.strictObject({
  /**
   * The user's request, on the first call of the session that declared it (later calls that declare
   * the same text link to that call with `trust: user`). Absent: this call declared nothing new.
   */
  request: DeclaredRequestSchema.optional(),
  /** Where the argument values came from; values with no known source are listed as `none`. */
  sources: z.array(ArgumentSourceSchema),
  /**
   * True when the list is not the whole story: the call had more sources than are listed, or a value
   * was not searched for past the call's search budget (its `none` may hide a source). Absent: all
   * values were looked up and every source is listed.
   */
  truncated: z.literal(true).optional(),
  /**
   * True when the session's data flow is incomplete (an output could not be indexed): a `none` may
   * then hide a source. Absent: complete.
   */
  incomplete: z.literal(true).optional(),
});
export type CallProvenanceRecord = z.infer<typeof CallProvenanceRecordSchema>;

/** The `_meta` key an MCP client sets on `tools/call` to declare the user's request for that call. */
export const USER_REQUEST_META = 'reins.dev/user-request';
/**
 * The `_meta` key on `tools/call`, `resources/read` or `prompts/get` declaring the user's request for
 * the whole session (not read on `initialize`: docs/gateway.md says why).
 */
export const SESSION_REQUEST_META = 'reins.dev/session-request';

/**
 * RFC 6901: one reference token, with one addition: `#` in a key is written `~2`, because a bare `#`
 * after a token means "the JSON held as text here, and on inside it" (`/content/0/text#/name`).
 */
export function pointerToken(key: string | number): string {
  if (typeof key === 'number') return String(key);
  return key.replaceAll('~', '~0').replaceAll('/', '~1').replaceAll('#', '~2');
}

/** Largest text that is taken for JSON held as text. */
const MAX_JSON_TEXT = 1_000_000;

/**
 * The object or array a string holds as JSON — what a bare `#` in a field pointer goes on inside — or
 * undefined when it holds none. One definition for the data flow that writes such pointers and the
 * trace that resolves them, so the two cannot disagree about where a `#` leads.
 */
export function jsonHeldIn(value: unknown): object | undefined {
  if (typeof value !== 'string' || value.length > MAX_JSON_TEXT) return undefined;
  const first = value[0];
  if (first !== '{' && first !== '[') return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return parsed !== null && typeof parsed === 'object' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The key a reference token names (the inverse of `pointerToken`). */
export function keyOfToken(token: string): string {
  return token.replaceAll('~2', '#').replaceAll('~1', '/').replaceAll('~0', '~');
}
