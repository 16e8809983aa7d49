/**
 * @module gateway/tool-pinning
 * Tool-definition pinning against "rug pulls": an upstream that advertises a harmless tool, gets it
 * approved, then swaps its description or input schema for one that steers the model. Every tool the
 * gateway sees is fingerprinted and compared with `reins.lock`:
 *
 * - same fingerprint as the pin: let through;
 * - never seen and its definition scans clean: pinned on first use (`approvedBy: first-use`);
 * - never seen and flagged by the description scan (which reads every string of the definition):
 *   quarantined (`suspicious_description`), never pinned;
 * - different from the pin: always quarantined (`definition_changed`), flagged or not.
 *
 * Quarantined definitions are written to the lock file too, so `reins tools approve` in another
 * process can pin exactly the definition the gateway saw. The lock is JSON with sorted keys so it
 * diffs well in review; a lock that cannot be read or parsed is an error, never an empty lock.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  type Stats,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import canonicalizeModule from 'canonicalize';
import { z } from 'zod';
import { describeError, ReinsError } from '../spec/errors.js';
import { PRIVATE_FILE_MODE } from '../store/private-files.js';
import { type Finding, scanToolDescription } from './description-scan.js';

// The package is CommonJS (module.exports = fn) but its typings declare an ES default export;
// under NodeNext the default import is the function itself at run time.
const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

export const TOOL_LOCK_VERSION = 1;
export const DEFAULT_TOOL_LOCK_FILE = 'reins.lock';
/** `approvedBy` of a tool pinned automatically the first time it was seen. */
export const FIRST_USE = 'first-use';

/**
 * A tool as its upstream listed it. Besides these, any other field the upstream sent (title,
 * outputSchema, annotations, _meta, icons, ...) is part of the definition: the agent sees it, so it
 * is fingerprinted and scanned as well.
 */
export interface ToolDefinition {
  name: string;
  description?: string | undefined;
  inputSchema?: unknown;
  readonly [field: string]: unknown;
}

const FingerprintSchema = z
  .string()
  .regex(/^sha256:[0-9a-f]{64}$/, 'expected `sha256:` followed by 64 lowercase hex digits');

// Keys are `<upstream>/<name>`; requiring the slash also keeps `__proto__` and friends out.
const ToolKeySchema = z.string().regex(/^.+\/.+$/s, 'expected `<upstream>/<tool>`');

export const QuarantineReasonSchema = z.enum(['definition_changed', 'suspicious_description', 'not_pinned']);
export type QuarantineReason = z.infer<typeof QuarantineReasonSchema>;

export const PinnedToolSchema = z.strictObject({
  fingerprint: FingerprintSchema,
  approvedAt: z.iso.datetime({ offset: true }),
  /** An operator, or `first-use` for trust on first use. */
  approvedBy: z.string().min(1),
  /** The approved description, for humans reviewing diffs of the lock (the fingerprint is what counts). */
  description: z.string(),
  /** Description-scan codes the definition had when it was approved. */
  flagged: z.array(z.string()),
});
export type PinnedTool = z.infer<typeof PinnedToolSchema>;

const StoredFindingSchema = z.strictObject({ code: z.string(), field: z.string(), excerpt: z.string() });

export const QuarantinedEntrySchema = z.strictObject({
  /** The definition the gateway saw and refused; `approve` pins exactly this one. */
  fingerprint: FingerprintSchema,
  reason: QuarantineReasonSchema,
  seenAt: z.iso.datetime({ offset: true }),
  description: z.string(),
  /** The approved fingerprint it differs from (`definition_changed` only). */
  pinned: FingerprintSchema.optional(),
  findings: z.array(StoredFindingSchema),
});
export type QuarantinedEntry = z.infer<typeof QuarantinedEntrySchema>;

export const ToolLockSchema = z.strictObject({
  version: z.literal(TOOL_LOCK_VERSION, {
    error: `unsupported lock version (this version of reins reads version ${TOOL_LOCK_VERSION})`,
  }),
  tools: z.record(ToolKeySchema, PinnedToolSchema),
  quarantine: z.record(ToolKeySchema, QuarantinedEntrySchema).optional(),
});
export type ToolLock = z.infer<typeof ToolLockSchema>;

export type PinCheck =
  | {
      status: 'pinned';
      key: string;
      fingerprint: string;
      /** True when this call pinned the tool on first use: worth an audit event. */
      firstUse: boolean;
    }
  | {
      status: 'quarantined';
      key: string;
      reason: QuarantineReason;
      /** The definition just seen (what `approve` would pin). */
      fingerprint: string;
      /** The approved fingerprint, when the definition changed. */
      pinned: string | undefined;
      findings: Finding[];
      /** For the agent and the operator; never quotes the upstream's text, which may be an injection. */
      message: string;
    };

export interface QuarantinedTool {
  key: string;
  reason: QuarantineReason;
  fingerprint: string;
  pinned: string | undefined;
  findings: Finding[];
  description: string;
  seenAt: string;
}

export interface ToolPinsOptions {
  /** Pin new tools that scan clean on first sight (default true); false freezes the lock. */
  trustOnFirstUse?: boolean;
  /** Write the lock after every change (default true), so a restart cannot forget a pin. */
  autoSave?: boolean;
  now?: () => Date;
}

export function toolKey(upstream: string, name: string): string {
  return `${upstream}/${name}`;
}

/**
 * `sha256:<hex>` over the canonical JSON of upstream, name, description, input schema and, when the
 * definition has any, every other field (under `fields`): everything the agent is shown, so changing
 * an annotation such as `readOnlyHint`, the output schema or `_meta` is a change like any other.
 * A definition with no other fields keeps the fingerprint it had before they were covered. Upstream
 * and name are hashed as separate fields, so two tools whose keys collide (`a/b` + `c` and `a` +
 * `b/c`) still have different fingerprints: a collision can quarantine a tool, never let one through.
 */
export function toolFingerprint(upstream: string, tool: ToolDefinition): string {
  // A frozen definition cannot change, so its fingerprint is computed once (see freezeDefinition).
  const cached = fingerprintCache.get(tool);
  if (cached !== undefined && cached.upstream === upstream) return cached.fingerprint;
  const fingerprint = computeFingerprint(upstream, tool);
  if (isDeeplyFrozen(tool)) fingerprintCache.set(tool, { upstream, fingerprint });
  return fingerprint;
}

/**
 * Fingerprints of deeply frozen definitions, by object. Canonical JSON and SHA-256 of a tool's schema
 * cost tens of µs, and the gateway checks the pin on every call; an upstream's listing is frozen once
 * (freezeDefinition), so every call after the first is a lookup. A definition that is not frozen
 * (could still be changed in place) is never cached: a changed definition always gets a new fingerprint.
 */
const fingerprintCache = new WeakMap<object, { readonly upstream: string; readonly fingerprint: string }>();

function isDeeplyFrozen(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (!Object.isFrozen(value)) return false;
  for (const child of Object.values(value)) if (!isDeeplyFrozen(child)) return false;
  return true;
}

/**
 * Freezes a definition and everything in it, so nothing can change it after it was pinned (and its
 * fingerprint can be cached). Returns the same object.
 */
export function freezeDefinition<T extends ToolDefinition>(tool: T): T {
  deepFreeze(tool);
  return tool;
}

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child);
}

function computeFingerprint(upstream: string, tool: ToolDefinition): string {
  const { name, description, inputSchema, ...others } = tool;
  const fields = Object.fromEntries(Object.entries(others).filter(([, value]) => value !== undefined));
  let canonical: string | undefined;
  try {
    canonical = canonicalize({
      upstream,
      name,
      description: description ?? '',
      inputSchema: inputSchema ?? {},
      ...(Object.keys(fields).length > 0 ? { fields } : {}),
    });
  } catch (error) {
    // e.g. a schema nested deeply enough to exhaust the stack: refuse rather than guess
    throw new ReinsError(
      'invalid_input',
      `tool \`${displayKey(toolKey(upstream, tool.name))}\` cannot be fingerprinted: ${describeError(error)}`,
    );
  }
  if (canonical === undefined) {
    throw new ReinsError(
      'invalid_input',
      `tool \`${displayKey(toolKey(upstream, tool.name))}\` cannot be fingerprinted`,
    );
  }
  return `sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}

/** Keys come from upstreams: keep control, invisible and backtick characters out of messages. */
function displayKey(key: string): string {
  return key.replace(/[^\x21-\x5F\x61-\x7E]/g, (character) => {
    return `\\u${(character.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`;
  });
}

function approveHint(key: string): string {
  return `quarantined until an operator runs \`reins tools approve ${displayKey(key)}\``;
}

function quarantineMessage(key: string, reason: QuarantineReason, findings: readonly Finding[]): string {
  const codes = [...new Set(findings.map((finding) => finding.code))].join(', ');
  switch (reason) {
    case 'definition_changed':
      return `tool \`${displayKey(key)}\` changed since it was approved${codes ? ` (flagged: ${codes})` : ''}: ${approveHint(key)}`;
    case 'suspicious_description':
      return `tool \`${displayKey(key)}\` is new and its definition reads like instructions to the model (${codes}): ${approveHint(key)}`;
    case 'not_pinned':
      return `tool \`${displayKey(key)}\` is not in the tool lock: ${approveHint(key)}`;
  }
}

const EMPTY_LOCK: ToolLock = { version: TOOL_LOCK_VERSION, tools: {} };

/** Reads the lock; a missing file is an empty lock, anything unreadable or malformed is an error. */
function readLock(path: string): { lock: ToolLock; stamp: string | undefined } {
  let text: string;
  let stamp: string | undefined;
  try {
    stamp = fileStamp(path);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { lock: EMPTY_LOCK, stamp: undefined };
    throw new ReinsError('store_unavailable', `cannot read tool lock \`${path}\`: ${describeError(error)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ReinsError('invalid_input', `tool lock \`${path}\` is not valid JSON: ${describeError(error)}`);
  }
  const parsed = ToolLockSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((issue) =>
        issue.path.length > 0 ? `\`${issue.path.join('.')}\`: ${issue.message}` : issue.message,
      )
      .join('; ');
    throw new ReinsError('invalid_input', `tool lock \`${path}\` is malformed: ${issues}`);
  }
  // zod drops a `__proto__` key instead of reporting it; a lock that loses entries is still malformed
  for (const section of ['tools', 'quarantine'] as const) {
    const raw = (json as Record<string, unknown>)[section];
    const kept = parsed.data[section] ?? {};
    if (raw !== null && typeof raw === 'object' && Object.keys(raw).length !== Object.keys(kept).length) {
      throw new ReinsError(
        'invalid_input',
        `tool lock \`${path}\` is malformed: \`${section}\`: unusable key`,
      );
    }
  }
  return { lock: parsed.data, stamp };
}

/** Changes whenever the file is replaced (rename gives a new inode) or rewritten. */
function fileStamp(path: string): string {
  return stampOf(statSync(path));
}

function stampOf(stat: Stats): string {
  return `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
}

function currentStamp(path: string): string | undefined {
  try {
    return fileStamp(path);
  } catch {
    return undefined;
  }
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  // fromEntries defines properties, so even a key like `__proto__` stays plain data
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, child]) => child !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, child]) => [key, sortKeys(child)]),
  );
}

// Characters a reviewer would not see in a diff (bidi controls can even reorder what is shown).
// They only ever occur inside JSON strings, where a \u escape means exactly the same thing.
const UNSEEN_IN_DIFFS =
  /[\u0080-\u009F\u00AD\u200B-\u200F\u2028-\u202E\u2060-\u2064\u2066-\u2069\uFEFF\u{E0000}-\u{E007F}]/gu;

export function serializeToolLock(lock: ToolLock): string {
  const text = `${JSON.stringify(sortKeys(lock), null, 2)}\n`;
  return text.replace(UNSEEN_IN_DIFFS, (character) => {
    let escaped = '';
    for (let index = 0; index < character.length; index += 1) {
      escaped += `\\u${character.charCodeAt(index).toString(16).padStart(4, '0')}`;
    }
    return escaped;
  });
}

/**
 * Write to a temporary file beside the target, flush, then rename over it: readers see old or new.
 * Returns the stamp of what was written (taken before the rename, so a write by another process
 * right after it still shows up as a change).
 */
function writeFileAtomic(path: string, text: string): string {
  const directory = dirname(path);
  const temporary = join(
    directory,
    `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
  );
  let stamp: string;
  try {
    const descriptor = openSync(temporary, 'wx', PRIVATE_FILE_MODE);
    try {
      writeFileSync(descriptor, text);
      fsyncSync(descriptor);
      stamp = stampOf(fstatSync(descriptor));
    } finally {
      closeSync(descriptor);
    }
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new ReinsError('store_unavailable', `cannot write tool lock \`${path}\`: ${describeError(error)}`);
  }
  try {
    // Make the rename itself durable; not every platform lets a directory be opened, hence best effort.
    const descriptor = openSync(directory, 'r');
    try {
      fsyncSync(descriptor);
    } finally {
      closeSync(descriptor);
    }
  } catch {
    // the file is written; only durability across a power cut is weaker
  }
  return stamp;
}

function toFindings(stored: QuarantinedEntry['findings']): Finding[] {
  return stored.map((finding) => ({ ...finding }) as Finding);
}

function sameQuarantine(a: QuarantinedEntry | undefined, b: QuarantinedEntry): boolean {
  return a !== undefined && a.fingerprint === b.fingerprint && a.reason === b.reason && a.pinned === b.pinned;
}

export class ToolPins {
  readonly path: string;
  readonly #trustOnFirstUse: boolean;
  readonly #autoSave: boolean;
  readonly #now: () => Date;
  #tools = new Map<string, PinnedTool>();
  #quarantine = new Map<string, QuarantinedEntry>();
  // Changes not yet written. Saving re-reads the file and applies only these, so an approval made by
  // `reins tools approve` in another process meanwhile is kept rather than overwritten.
  #unsavedTools = new Map<string, PinnedTool>();
  #unsavedQuarantine = new Map<string, QuarantinedEntry | undefined>();
  #stamp: string | undefined;

  /** An empty set of pins for `path`; use `ToolPins.load` to start from the file. */
  constructor(path: string, options: ToolPinsOptions = {}) {
    this.path = path;
    this.#trustOnFirstUse = options.trustOnFirstUse ?? true;
    this.#autoSave = options.autoSave ?? true;
    this.#now = options.now ?? (() => new Date());
  }

  /** Reads `path`, or starts empty when it does not exist; throws when it is unreadable or malformed. */
  static load(path: string, options: ToolPinsOptions = {}): ToolPins {
    const pins = new ToolPins(path, options);
    pins.reload();
    return pins;
  }

  /** Re-reads the file, keeping changes of this instance that are not saved yet on top. */
  reload(): void {
    const { lock, stamp } = readLock(this.path);
    this.#adopt(lock);
    this.#stamp = stamp;
  }

  /**
   * Decides one advertised tool; `screen` redacts the text the lock keeps for people (the description
   * and the excerpts of findings), not what is fingerprinted. Throws (`invalid_input`,
   * `store_unavailable`) when the lock cannot be read or written or the definition cannot be
   * fingerprinted; a caller should then withhold the tool.
   */
  check(upstream: string, tool: ToolDefinition, screen: (text: string) => string = (text) => text): PinCheck {
    const key = toolKey(upstream, tool.name);
    const fingerprint = toolFingerprint(upstream, tool);
    if (this.#tools.get(key)?.fingerprint !== fingerprint) this.#reloadIfChanged();

    const pin = this.#tools.get(key);
    if (pin?.fingerprint === fingerprint) {
      // The upstream went back to the approved definition: the quarantined one is moot.
      if (this.#quarantine.has(key)) {
        this.#quarantine.delete(key);
        this.#unsavedQuarantine.set(key, undefined);
        this.#autoSaveNow();
      }
      return { status: 'pinned', key, fingerprint, firstUse: false };
    }

    // the lock keeps text for people reviewing it: screened (secrets redacted), like what agents see
    const findings = scanToolDescription(tool).findings.map((finding) => ({
      ...finding,
      excerpt: screen(finding.excerpt),
    }));
    const description = screen(typeof tool.description === 'string' ? tool.description : '');
    let reason: QuarantineReason;
    if (pin !== undefined) reason = 'definition_changed';
    else if (findings.length > 0) reason = 'suspicious_description';
    else if (!this.#trustOnFirstUse) reason = 'not_pinned';
    else {
      this.#pin(key, { fingerprint, approvedBy: FIRST_USE, description, flagged: [] });
      return { status: 'pinned', key, fingerprint, firstUse: true };
    }

    const entry: QuarantinedEntry = {
      fingerprint,
      reason,
      seenAt: this.#now().toISOString(),
      description,
      ...(pin !== undefined ? { pinned: pin.fingerprint } : {}),
      findings: findings.map(({ code, field, excerpt }) => ({ code, field, excerpt })),
    };
    // Only a different definition is news; re-listing the same one must not rewrite the file.
    if (!sameQuarantine(this.#quarantine.get(key), entry)) {
      this.#quarantine.set(key, entry);
      this.#unsavedQuarantine.set(key, entry);
      this.#autoSaveNow();
    }
    return {
      status: 'quarantined',
      key,
      reason,
      fingerprint,
      pinned: pin?.fingerprint,
      findings,
      message: quarantineMessage(key, reason, findings),
    };
  }

  /**
   * Pins the quarantined definition of `key`. With `fingerprint`, only if that is still the one
   * quarantined: an operator who reviewed one definition must not approve a later swap by accident.
   */
  approve(key: string, by: string, fingerprint?: string): void {
    if (by.trim() === '') throw new ReinsError('invalid_input', 'an approval needs the name of who approves');
    this.#reloadIfChanged();
    const entry = this.#quarantine.get(key);
    if (entry === undefined) {
      const pinned = this.#tools.has(key);
      throw new ReinsError(
        'not_found',
        pinned
          ? `tool \`${displayKey(key)}\` is not quarantined: its approved definition is current`
          : `no quarantined tool \`${displayKey(key)}\``,
      );
    }
    if (fingerprint !== undefined && fingerprint !== entry.fingerprint) {
      throw new ReinsError(
        'conflict',
        `tool \`${displayKey(key)}\` changed again: the quarantined definition is \`${entry.fingerprint}\`, not \`${fingerprint}\``,
      );
    }
    this.#quarantine.delete(key);
    this.#unsavedQuarantine.set(key, undefined);
    this.#pin(key, {
      fingerprint: entry.fingerprint,
      approvedBy: by,
      description: entry.description,
      flagged: [...new Set(entry.findings.map((finding) => finding.code))],
    });
  }

  /** Definitions seen and refused, by key, including those recorded by other processes. */
  quarantined(): QuarantinedTool[] {
    return [...this.#quarantine.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, entry]) => ({
        key,
        reason: entry.reason,
        fingerprint: entry.fingerprint,
        pinned: entry.pinned,
        findings: toFindings(entry.findings),
        description: entry.description,
        seenAt: entry.seenAt,
      }));
  }

  pinned(): ({ key: string } & PinnedTool)[] {
    return [...this.#tools.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, pin]) => ({ key, ...pin, flagged: [...pin.flagged] }));
  }

  /** Writes the lock atomically: the file as it is now, plus this instance's unsaved changes. */
  save(): void {
    const { lock } = readLock(this.path);
    this.#adopt(lock);
    this.#stamp = writeFileAtomic(this.path, serializeToolLock(this.#lock()));
    this.#unsavedTools.clear();
    this.#unsavedQuarantine.clear();
  }

  #pin(key: string, pin: Omit<PinnedTool, 'approvedAt'>): void {
    const entry: PinnedTool = { ...pin, approvedAt: this.#now().toISOString() };
    this.#tools.set(key, entry);
    this.#unsavedTools.set(key, entry);
    this.#autoSaveNow();
  }

  #autoSaveNow(): void {
    if (this.#autoSave) this.save();
  }

  /** Picks up approvals written by another process (the CLI) without a file watcher. */
  #reloadIfChanged(): void {
    if (currentStamp(this.path) !== this.#stamp) this.reload();
  }

  /** Replaces the state with `lock` and re-applies the unsaved changes on top. */
  #adopt(lock: ToolLock): void {
    const tools = new Map(Object.entries(lock.tools));
    const quarantine = new Map(Object.entries(lock.quarantine ?? {}));
    for (const [key, pin] of this.#unsavedTools) tools.set(key, pin);
    for (const [key, entry] of this.#unsavedQuarantine) {
      if (entry === undefined) quarantine.delete(key);
      else quarantine.set(key, entry);
    }
    // An entry the other process already approved is no longer quarantined.
    for (const [key, entry] of quarantine) {
      if (tools.get(key)?.fingerprint === entry.fingerprint) quarantine.delete(key);
    }
    this.#tools = tools;
    this.#quarantine = quarantine;
  }

  #lock(): ToolLock {
    const lock: ToolLock = { version: TOOL_LOCK_VERSION, tools: Object.fromEntries(this.#tools) };
    if (this.#quarantine.size > 0) lock.quarantine = Object.fromEntries(this.#quarantine);
    return lock;
  }
}
