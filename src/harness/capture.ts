/**
 * @module harness/capture
 * The capture stage (issue 16, decision 0022): before a call whose tool declares a compensation runs,
 * read the state it will change, through the same upstream, and say whether the call can be undone.
 *
 * The raw captured state goes to the store beside the intent, in the same commit, by content hash
 * (store/audit-log `CapturedContent`); the intent records only each capture's hash, size and a
 * redacted, shortened view. A capture that cannot be taken or is not usable stops the call (it does
 * not run). Where no upstream can be read (the agent runs the tool itself: the remote protocol, the
 * adapters), a call that needs captures is `unavailable`: not reversible, so a reversible-or-approved
 * rule holds it.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { CapturedValue, CompiledReversal, ReversalCall } from '../policy/reversal.js';
import { describeError } from '../spec/errors.js';
import type { RecordedCapture, RecordedReversal, ReversalFacts } from '../spec/reversal.js';
import type { CapturedContent } from '../store/audit-log.js';
import type { Screened } from './upstream-screen.js';

/** Reads another tool of the same upstream (the capture reads); resolves with its result. */
export type UpstreamReader = (
  tool: string,
  args: Record<string, unknown>,
  signal: AbortSignal,
) => Promise<unknown>;

/** What the capture stage hands to the intent: the facts, the record, the raw contents to store. */
export interface TakenCaptures {
  readonly facts: ReversalFacts;
  readonly record: RecordedReversal | undefined;
  readonly contents: readonly CapturedContent[];
  /**
   * sha256 of each capture's JSON, unsalted: to compare a capture taken again with this one, in this
   * process (never recorded: the log holds only the salted hash, which confirms no guess).
   */
  readonly digests: readonly string[];
  /** Set when a capture could not be taken or is not usable: the call must not run. */
  readonly failure?: string;
}

/** How the stage screens what it records and reads failures out of a tool's result. */
export interface CaptureScreens {
  /** Redacts a value the way the call's arguments and results are redacted. */
  readonly screen: <T>(value: T) => Screened<T>;
  /** The failure a tool's result reports (MCP `isError`), or undefined. */
  readonly errorOfResult?: (result: unknown) => string | undefined;
}

const VIEW_CHARS = 512;
/** Base64 (or hex) runs long enough to hide a secret. */
const ENCODED = /^[A-Za-z0-9+/=_-]{16,}$/;
/** Fields that carry encoded content whatever their length (MCP blobs and media). */
const ENCODED_FIELDS = new Set(['blob', 'data']);

/** The facts a decision may assume before the captures are taken. */
export function assumedFacts(reversal: CompiledReversal | undefined, canRead: boolean): ReversalFacts {
  if (reversal === undefined) return { kind: 'undeclared', reversible: false, reason: NOT_DECLARED };
  if (reversal.kind !== 'compensation')
    return { kind: reversal.kind, reversible: false, reason: reversal.reason ?? reversal.kind };
  // a tool Reins does not run (the agent does) is not undone by Reins: what the agent reports about it
  // (its result, whether it ran at all) is no ground to act on the upstream's state
  if (!canRead) return { kind: 'unavailable', reversible: false, reason: NO_READER };
  return { kind: 'reversible', reversible: true };
}

/** The reversal of a call whose captures are not taken here (none needed, or none possible). */
export function uncaptured(reversal: CompiledReversal | undefined, canRead: boolean): TakenCaptures {
  const facts = assumedFacts(reversal, canRead);
  return {
    facts,
    record: reversal === undefined ? undefined : recordOf(facts, undefined),
    contents: [],
    digests: [],
  };
}

/** Takes every capture the call's reversal asks for, in order; the first failure stops. */
export async function takeCaptures(
  reversal: CompiledReversal,
  call: ReversalCall,
  read: UpstreamReader,
  screens: CaptureScreens,
  signal: AbortSignal,
): Promise<TakenCaptures> {
  const planned = reversal.captures(call);
  if (!planned.ok) return failed(`its captures could not be planned: ${planned.error}`);
  const values: Record<string, CapturedValue> = {};
  const recorded: RecordedCapture[] = [];
  const contents: CapturedContent[] = [];
  const digests: string[] = [];
  for (const step of planned.value) {
    const value = await readOnce(read, step.tool, step.args, screens, signal);
    const accepted = reversal.accepts(step.name, value, call);
    if (!accepted.ok) return failed(`capture \`${step.name}\` could not be checked: ${accepted.error}`);
    if (!accepted.value)
      return failed(
        `capture \`${step.name}\` (\`${step.tool}\`) failed: ${screenedText(screens, value.error ?? 'not usable')}`,
      );
    values[step.name] = value;
    const json = new TextEncoder().encode(JSON.stringify(value));
    // a state too large to keep is not captured: the call is not reversible (a gate may hold it)
    if (json.byteLength > MAX_CAPTURE_BYTES) return tooLarge(step.name, json.byteLength);
    const bytes = sealCaptured(json);
    const hash = digestOf(bytes);
    contents.push({ hash, bytes });
    digests.push(digestOf(json));
    recorded.push({
      name: step.name,
      tool: step.tool,
      args: screenedArgs(screens, step.args),
      ok: value.ok,
      hash,
      bytes: json.byteLength,
      view: viewOf(screens, value),
    });
  }
  const facts = reversal.facts(call, values);
  return { facts, record: recordOf(facts, recorded), contents, digests };
}

/** The digests of the captures now, to compare with those taken before (a held call's state may change). */
export async function captureHashes(
  reversal: CompiledReversal,
  call: ReversalCall,
  read: UpstreamReader,
  screens: CaptureScreens,
  signal: AbortSignal,
): Promise<readonly string[] | string> {
  const taken = await takeCaptures(reversal, call, read, screens, signal);
  if (taken.failure !== undefined) return taken.failure;
  return taken.digests;
}

async function readOnce(
  read: UpstreamReader,
  tool: string,
  args: Record<string, unknown>,
  screens: CaptureScreens,
  signal: AbortSignal,
): Promise<CapturedValue> {
  try {
    const result = await read(tool, args, signal);
    const error = screens.errorOfResult?.(result);
    return error === undefined ? { ok: true, result } : { ok: false, result, error };
  } catch (error) {
    return { ok: false, error: describeError(error) };
  }
}

function recordOf(facts: ReversalFacts, captures: RecordedCapture[] | undefined): RecordedReversal {
  return {
    kind: facts.kind,
    ...(facts.reason !== undefined ? { reason: facts.reason } : {}),
    ...(captures !== undefined && captures.length > 0 ? { captures } : {}),
  };
}

/** Largest captured state kept per capture (its JSON): larger is not reversible, not refused. */
export const MAX_CAPTURE_BYTES = 32 * 1024 * 1024;

function tooLarge(name: string, bytes: number): TakenCaptures {
  const facts: ReversalFacts = {
    kind: 'unavailable',
    reversible: false,
    reason: `capture \`${name}\` is ${bytes} bytes, more than the ${MAX_CAPTURE_BYTES} Reins keeps: it cannot be undone`,
  };
  return { facts, record: recordOf(facts, undefined), contents: [], digests: [] };
}

function failed(failure: string): TakenCaptures {
  const facts: ReversalFacts = { kind: 'unavailable', reversible: false, reason: failure };
  return {
    facts,
    // on record with the refused call: why it did not run
    record: recordOf(facts, undefined),
    contents: [],
    digests: [],
    failure,
  };
}

/**
 * A view for humans: redacted, encoded content summarised (a secret in base64 escapes every detector,
 * so the log never shows encoded bytes), shortened.
 */
function viewOf(screens: CaptureScreens, value: CapturedValue): string {
  const screened = screens.screen(value);
  if (!screened.ok) return `(withheld: ${screened.reason})`;
  const text = JSON.stringify(screened.value, (key, item: unknown) =>
    typeof item === 'string' && (ENCODED_FIELDS.has(key) || ENCODED.test(item))
      ? `(encoded, ${item.length} characters)`
      : item,
  );
  return text.length <= VIEW_CHARS ? text : `${text.slice(0, VIEW_CHARS)}… (${text.length} characters)`;
}

function screenedArgs(screens: CaptureScreens, args: Record<string, unknown>): Record<string, unknown> {
  const screened = screens.screen(args);
  return screened.ok ? screened.value : { withheld: screened.reason };
}

function screenedText(screens: CaptureScreens, text: string): string {
  const screened = screens.screen(text);
  return screened.ok ? screened.value : '(withheld: it holds what the policy blocks)';
}

const NOT_DECLARED = 'the catalogue declares no way to undo this tool';
const NO_READER =
  'Reins does not run this tool here (the agent does), so it can neither capture its state nor undo it';

/** Random bytes before a capture's JSON, so that the hash in the log cannot confirm a guess of it. */
const SALT_BYTES = 16;

/** A capture as stored: a random salt, then its JSON. */
function sealCaptured(json: Uint8Array): Uint8Array {
  const sealed = new Uint8Array(SALT_BYTES + json.byteLength);
  sealed.set(randomBytes(SALT_BYTES), 0);
  sealed.set(json, SALT_BYTES);
  return sealed;
}

/** The JSON of a stored capture (its salt removed). */
export function unsealCaptured(stored: Uint8Array): Uint8Array {
  if (stored.byteLength < SALT_BYTES) throw new Error('captured content shorter than its salt');
  return stored.subarray(SALT_BYTES);
}

export function digestOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
