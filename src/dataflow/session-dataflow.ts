/**
 * @module dataflow/session-dataflow
 * What one session has seen, for labels and argument provenance: every identifier-like value that
 * appeared in a tool output (or the user's declared request), indexed in a Map by its normalised form
 * with where it was first seen (trusted structured field or untrusted free text, and which call), the
 * untrusted texts themselves (to find names no pattern extracts), and the labels the session gathered.
 *
 * Recording an output walks it once; looking a value up is a Map access (plus, for phrase lookups, a
 * substring search over the untrusted texts). Sizes are bounded so a hostile tool cannot grow it
 * without limit: past the bounds older texts are dropped and new values are still indexed.
 */
import type { OutputSpec } from '../spec/dataflow-policy.js';
import type { DataflowView, SourceRecord, ValueOrigins } from '../spec/dataflow-view.js';
import { jsonHeldIn, pointerToken } from '../spec/provenance.js';
import {
  extractIdentifiers,
  extractNumbers,
  hostOf,
  INDEXED_KINDS,
  normalizeValue,
  normalizeWhole,
  tenantValue,
} from './identifiers.js';
import { looksLikeInstructions } from './instruction-text.js';

/** How the catalogue describes one output: default trust plus per-field overrides. */
export interface OutputDescription {
  /** The catalogue's `untrustedOutput`: leaves are untrusted unless a field says otherwise. */
  readonly untrusted: boolean;
  readonly spec: OutputSpec | undefined;
}

interface Entry {
  user: boolean;
  /** The decision whose intent record declared the request that holds the value, when known. */
  userFrom: string | undefined;
  structured: SourceRecord | undefined;
  untrusted: SourceRecord | undefined;
  designated: SourceRecord | undefined;
  undeclared: SourceRecord | undefined;
  tenants: Map<string, SourceRecord> | undefined;
}

const MAX_VALUES = 200_000;
const MAX_UNTRUSTED_CHARS = 20_000_000;
/** Whole structured strings longer than this are not identifiers (they are still scanned). */
const MAX_WHOLE_VALUE = 200;
const NOWHERE: ValueOrigins = {
  user: false,
  structured: undefined,
  untrusted: undefined,
  designated: undefined,
};
const FILE_NAME = /^[^\s/\\]{1,200}\.[a-z0-9]{1,5}$/i;
/** Trusted structured strings are short values; a field holding prose is treated as text. */
const MAX_STRUCTURED_WORDS_PER_LINE = 10;

/** Most characters of declared user input a session keeps (a declaration per call must not grow without bound). */
const MAX_USER_TEXT = 200_000;

export class SessionDataflow implements DataflowView {
  private readonly values = new Map<string, Entry>();
  private readonly untrustedTexts: { text: string; source: SourceRecord; designated: boolean }[] = [];
  /** Each declaration of user input, lower-cased, with the decision that declared it (for links). */
  private readonly declarations: { text: string; by: string | undefined }[] = [];
  private untrustedChars = 0;
  /** Declared user input, lower-cased; at most MAX_USER_TEXT characters, the latest kept. */
  private userText = '';
  private readonly labelSet = new Set<string>();
  labels: readonly string[] = [];
  complete = true;

  /** An output could not be indexed: from now on, flow rules refuse what they cannot clear. */
  markIncomplete(): void {
    this.complete = false;
    this.addLabel('dataflow-incomplete');
  }

  get hasUserInput(): boolean {
    return this.userText.length > 0;
  }

  get phraseSearchChars(): number {
    return this.untrustedChars + this.userText.length;
  }

  /**
   * Declares text as the user's own request: values in it are trusted (replay, SDK adapters, MCP
   * `_meta`). `by`: the decision whose intent record carries it. Returns false when the session had
   * this text already (every tool call of a turn declares it) and nothing was added.
   */
  recordUserInput(text: string, by?: string): boolean {
    if (text.length === 0) return false;
    const declared = `\n${text.toLowerCase()}\n`;
    if (this.userText.includes(declared)) return by !== undefined && this.attribute(declared, text, by);
    // bounded: the oldest text leaves first, which can only make flow rules stricter
    this.userText = `${this.userText}${declared}`.slice(-MAX_USER_TEXT);
    this.declarations.push({ text: declared, by });
    let kept = 0;
    for (let index = this.declarations.length - 1; index >= 0; index--) {
      kept += (this.declarations[index] as { text: string }).text.length;
      if (kept > MAX_USER_TEXT) {
        this.declarations.splice(0, index + 1);
        break;
      }
    }
    for (const found of extractIdentifiers(text, INDEXED_KINDS)) {
      const entry = this.entry(found.value);
      entry.user = true;
      entry.userFrom ??= by;
    }
    return true;
  }

  /**
   * A request declared before any call carried it (`Harness.declareUserInput`) is now carried by the
   * intent of `by`: its values link there. True when it was unattributed (so `by` records it).
   */
  private attribute(declared: string, text: string, by: string): boolean {
    const declaration = this.declarations.find((each) => each.text === declared);
    if (declaration === undefined || declaration.by !== undefined) return false;
    declaration.by = by;
    for (const found of extractIdentifiers(text, INDEXED_KINDS)) {
      const entry = this.entry(found.value);
      entry.userFrom ??= by;
    }
    return true;
  }

  /**
   * Indexes the output of a tool the catalogue says nothing about, for provenance links only: its
   * values are `undeclared` origins, which no flow rule reads, and it adds no label.
   */
  recordUndeclaredOutput(source: SourceRecord, output: unknown): void {
    new UndeclaredWalker(this, source).walk(output, '', 0);
  }

  /** Indexes one tool output under its source call. */
  recordOutput(
    source: SourceRecord,
    output: unknown,
    description: OutputDescription,
    args: Readonly<Record<string, unknown>>,
  ): void {
    const spec = description.spec;
    const tenant = spec?.tenant ? tenantOf(spec.tenant, args, output) : undefined;
    const designated = this.designates(args) && !containsInstructions(output, 0);
    const walker = new OutputWalker(this, source, spec, tenant, designated, output);
    walker.walk(output, description.untrusted ? Trust.Untrusted : Trust.Structured, 0, '');
    if (walker.sawUntrusted) this.addLabel('untrusted');
    if (walker.sawInstructions) this.addLabel('instructions');
    for (const label of spec?.labels ?? []) this.addLabel(label);
    if (tenant !== undefined) this.addLabel(`tenant:${tenant}`);
  }

  origins(value: string, phrase: boolean): ValueOrigins {
    const entry = this.values.get(value);
    let user = entry?.user ?? false;
    let userDeclaredBy = entry?.userFrom;
    let untrusted = entry?.untrusted;
    let designated = entry?.designated;
    if (phrase) {
      if (!user) {
        user = containsPhrase(this.userText, value);
        if (user) userDeclaredBy = this.declarations.find((each) => containsPhrase(each.text, value))?.by;
      }
      if (untrusted === undefined) untrusted = this.findInUntrusted(value, false);
      if (designated === undefined) designated = this.findInUntrusted(value, true);
    }
    if (entry === undefined && !user && untrusted === undefined && designated === undefined) return NOWHERE;
    return {
      user,
      structured: entry?.structured,
      untrusted,
      designated,
      undeclared: entry?.undeclared,
      userDeclaredBy: user ? userDeclaredBy : undefined,
    };
  }

  /**
   * The user pointed at this call's output: every string argument (at least one) is an identifier the
   * user typed (a URL, an address, a file name). Not transitive: a page that the named page links to
   * is not pointed at. A search by a word from the request is not pointing either.
   */
  private designates(args: Readonly<Record<string, unknown>>): boolean {
    if (this.userText.length === 0) return false;
    let any = false;
    for (const value of Object.values(args)) {
      const items = Array.isArray(value) ? value : [value];
      for (const item of items) {
        if (typeof item !== 'string') continue;
        const typed =
          this.values.get(normalizeWhole(item))?.user === true ||
          (FILE_NAME.test(item.trim()) && containsPhrase(this.userText, normalizeValue(item)));
        if (!typed) return false;
        any = true;
      }
    }
    return any;
  }

  tenantsOf(value: string): ReadonlyMap<string, SourceRecord> | undefined {
    return this.values.get(value)?.tenants;
  }

  /** @internal used by the output walkers; `field`: where in the output (JSON Pointer). */
  note(
    value: string,
    source: SourceRecord,
    origin: 'structured' | 'untrusted' | 'designated' | 'undeclared',
    tenant: string | undefined,
    field: string,
  ): void {
    if (value.length === 0) return;
    const entry = this.entry(value);
    if (origin === 'structured') entry.structured ??= { ...source, field };
    else if (origin === 'designated') entry.designated ??= { ...source, field };
    else if (origin === 'undeclared') entry.undeclared ??= { ...source, field };
    else entry.untrusted ??= { ...source, field };
    if (tenant !== undefined) {
      entry.tenants ??= new Map();
      if (!entry.tenants.has(tenant)) entry.tenants.set(tenant, source);
    }
  }

  /** @internal used by the output walker */
  noteUntrustedText(text: string, source: SourceRecord, designated: boolean, field: string): void {
    const lower = text.toLowerCase();
    this.untrustedTexts.push({ text: lower, source: { ...source, field }, designated });
    this.untrustedChars += lower.length;
    while (this.untrustedChars > MAX_UNTRUSTED_CHARS && this.untrustedTexts.length > 1) {
      const dropped = this.untrustedTexts.shift();
      this.untrustedChars -= dropped?.text.length ?? 0;
    }
  }

  private entry(value: string): Entry {
    let entry = this.values.get(value);
    if (entry === undefined) {
      entry = {
        user: false,
        userFrom: undefined,
        structured: undefined,
        untrusted: undefined,
        designated: undefined,
        undeclared: undefined,
        tenants: undefined,
      };
      // bounded: past the limit the oldest value is forgotten (Map keeps insertion order)
      if (this.values.size >= MAX_VALUES) {
        const oldest = this.values.keys().next().value;
        if (oldest !== undefined) this.values.delete(oldest);
      }
      this.values.set(value, entry);
    }
    return entry;
  }

  private findInUntrusted(value: string, designated: boolean): SourceRecord | undefined {
    if (value.length < 2) return undefined;
    for (const text of this.untrustedTexts)
      if (text.designated === designated && containsPhrase(text.text, value)) return text.source;
    return undefined;
  }

  private addLabel(label: string): void {
    if (this.labelSet.has(label)) return;
    this.labelSet.add(label);
    this.labels = [...this.labelSet];
  }
}

/**
 * How far a string in an output is trusted: text others wrote, a structured value (demoted to text
 * when it reads like prose), or a field the catalogue names as trusted (taken as it is).
 */
enum Trust {
  Untrusted = 0,
  Structured = 1,
  Declared = 2,
}

/** Walks an output once, indexing values with the trust of the field they sit in. */
class OutputWalker {
  sawUntrusted = false;
  sawInstructions = false;
  private readonly untrustedFields: ReadonlySet<string>;
  private readonly trustedFields: ReadonlySet<string>;
  /** In a designated output, kinds with more than one distinct value: the user's pointer is ambiguous. */
  private readonly ambiguousKinds: ReadonlySet<string>;

  constructor(
    private readonly flow: SessionDataflow,
    private readonly source: SourceRecord,
    private readonly spec: OutputSpec | undefined,
    private readonly tenant: string | undefined,
    private readonly designated: boolean,
    output: unknown,
  ) {
    this.untrustedFields = new Set(spec?.untrustedFields ?? []);
    this.trustedFields = new Set(spec?.trustedFields ?? []);
    this.ambiguousKinds = designated ? ambiguousKinds(output) : new Set();
  }

  /** `path`: JSON Pointer of `value` in the output, for provenance links. */
  walk(value: unknown, trust: Trust, depth: number, path: string): void {
    if (value === null || value === undefined) return;
    // fail closed: what is nested too deep to index might hold anything, so flow rules refuse what
    // they cannot clear from now on
    if (depth > 64) {
      this.flow.markIncomplete();
      return;
    }
    if (typeof value === 'string') {
      // MCP servers often return JSON as text: the fields of trusted output are where values come
      // from, each string inside judged on its own (a sentence in a field is text), as in a structured
      // output. Text others wrote stays text, whole: nothing inside it can vouch for itself (no
      // trusted field or key, no number taken for a value).
      const parsed = trust === Trust.Untrusted ? undefined : jsonHeldIn(value);
      if (parsed === undefined) this.text(value, trust, path);
      else this.walk(parsed, trust, depth + 1, `${path}#`);
    } else if (typeof value === 'number' || typeof value === 'bigint') {
      if (trust !== Trust.Untrusted || this.tenant !== undefined)
        this.note(String(value), trust === Trust.Untrusted, path);
    } else if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) this.walk(item, trust, depth + 1, `${path}/${index}`);
    } else if (typeof value === 'object') {
      for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
        const childPath = `${path}/${pointerToken(key)}`;
        // keys are field names or the names asked for: indexed whole, not scanned (unless untrusted)
        const keyTrusted = trust !== Trust.Untrusted || this.spec?.trustedKeys === true;
        if (keyTrusted) this.note(normalizeWhole(key), false, childPath);
        else this.text(key, Trust.Untrusted, childPath);
        this.walk(child, this.fieldTrust(key, trust), depth + 1, childPath);
      }
    }
  }

  private fieldTrust(key: string, inherited: Trust): Trust {
    if (this.untrustedFields.has(key)) return Trust.Untrusted;
    if (this.trustedFields.has(key)) return Trust.Declared;
    return inherited;
  }

  private text(text: string, trust: Trust, path: string): void {
    if (text.length === 0) return;
    const untrusted = trust === Trust.Untrusted || (trust === Trust.Structured && isProse(text));
    if (untrusted) {
      this.sawUntrusted = true;
      if (!this.sawInstructions && looksLikeInstructions(text)) this.sawInstructions = true;
      this.flow.noteUntrustedText(text, this.source, this.designated, path);
    } else if (text.length <= MAX_WHOLE_VALUE) {
      this.note(normalizeWhole(text), false, path);
    }
    if (!untrusted && text.includes('\n')) {
      // trusted multi-line text is often a list ("Hotel Names: A\nB\nC"): each line is a value
      for (const line of text.split('\n')) this.structuredLine(line, path);
    } else if (!untrusted && text.includes(': ')) {
      this.structuredLine(text, path);
    }
    for (const found of extractIdentifiers(text, INDEXED_KINDS)) {
      const vouched = !this.ambiguousKinds.has(found.kind);
      this.note(found.value, untrusted, path, vouched);
      if (found.kind === 'url') this.note(hostOf(found.value), untrusted, path, vouched);
    }
    if (this.tenant !== undefined)
      for (const number of extractNumbers(text)) this.note(number, untrusted, path);
  }

  /** `Key: value, Key: value` or a bare list item: the values are structured values. */
  private structuredLine(line: string, path: string): void {
    const trimmed = line.trim();
    if (trimmed.length === 0 || trimmed.length > MAX_WHOLE_VALUE) return;
    this.note(normalizeWhole(trimmed), false, path);
    for (const part of trimmed.split(/,\s+/)) {
      const colon = part.indexOf(': ');
      if (colon !== -1) this.note(normalizeWhole(part.slice(colon + 2)), false, path);
    }
  }

  private note(value: string, untrusted: boolean, path: string, vouched = false): void {
    const origin = !untrusted ? 'structured' : this.designated && vouched ? 'designated' : 'untrusted';
    this.flow.note(value, this.source, origin, this.tenant, path);
  }
}

/**
 * Walks the output of a tool the catalogue does not describe: whole short strings, the lines of
 * `key: value` text and identifiers, each as an `undeclared` origin with its field (links only).
 */
class UndeclaredWalker {
  constructor(
    private readonly flow: SessionDataflow,
    private readonly source: SourceRecord,
  ) {}

  walk(value: unknown, path: string, depth: number): void {
    if (depth > 64 || value === null || value === undefined) return;
    const parsed = typeof value === 'string' ? jsonHeldIn(value) : undefined;
    if (parsed !== undefined) this.walk(parsed, `${path}#`, depth + 1);
    else if (typeof value === 'string') this.text(value, path);
    else if (typeof value === 'number' || typeof value === 'bigint') this.note(String(value), path);
    else if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) this.walk(item, `${path}/${index}`, depth + 1);
    } else if (typeof value === 'object') {
      for (const [key, child] of Object.entries(value as Record<string, unknown>))
        this.walk(child, `${path}/${pointerToken(key)}`, depth + 1);
    }
  }

  private text(text: string, path: string): void {
    if (text.length === 0) return;
    if (text.length <= MAX_WHOLE_VALUE) this.note(normalizeWhole(text), path);
    for (const line of text.split('\n')) {
      const trimmed = line.trim();
      if (trimmed.length === 0 || trimmed.length > MAX_WHOLE_VALUE) continue;
      this.note(normalizeWhole(trimmed), path);
      const colon = trimmed.indexOf(': ');
      if (colon !== -1) this.note(normalizeWhole(trimmed.slice(colon + 2)), path);
    }
    for (const found of extractIdentifiers(text, INDEXED_KINDS)) this.note(found.value, path);
  }

  private note(value: string, path: string): void {
    this.flow.note(value, this.source, 'undeclared', undefined, path);
  }
}

/** Identifier kinds that occur with more than one distinct value anywhere in the output. */
function ambiguousKinds(output: unknown): Set<string> {
  const seen = new Map<string, string>();
  const ambiguous = new Set<string>();
  const visit = (value: unknown, depth: number) => {
    if (depth > 64 || value === null || value === undefined) return;
    if (typeof value === 'string') {
      for (const found of extractIdentifiers(value, INDEXED_KINDS)) {
        const first = seen.get(found.kind);
        if (first === undefined) seen.set(found.kind, found.value);
        else if (first !== found.value && !(found.kind === 'url' && hostOf(found.value) === hostOf(first)))
          ambiguous.add(found.kind);
      }
    } else if (Array.isArray(value)) {
      for (const item of value) visit(item, depth + 1);
    } else if (typeof value === 'object') {
      for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
        visit(key, depth + 1);
        visit(child, depth + 1);
      }
    }
  };
  visit(output, 0);
  return ambiguous;
}

/** A structured field holds short values; prose in one (a long line) is somebody's text. */
function isProse(text: string): boolean {
  if (text.length > 2_000) return true;
  for (const line of text.split('\n')) {
    let words = 1;
    for (let index = 0; index < line.length; index++) if (line[index] === ' ') words++;
    if (words > MAX_STRUCTURED_WORDS_PER_LINE) return true;
  }
  return false;
}

/** Whether any string in the output addresses the agent with instructions. */
function containsInstructions(value: unknown, depth: number): boolean {
  if (depth > 64 || value === null || value === undefined) return false;
  if (typeof value === 'string') return looksLikeInstructions(value);
  if (Array.isArray(value)) return value.some((item) => containsInstructions(item, depth + 1));
  if (typeof value === 'object')
    return Object.entries(value as Record<string, unknown>).some(
      ([key, child]) => looksLikeInstructions(key) || containsInstructions(child, depth + 1),
    );
  return false;
}

/** The tenant of an output: an argument of the call, or the first field of that name in the output. */
function tenantOf(
  source: NonNullable<OutputSpec['tenant']>,
  args: Readonly<Record<string, unknown>>,
  output: unknown,
): string | undefined {
  const raw = source.arg !== undefined ? args[source.arg] : findField(output, source.field ?? '', 0);
  return tenantValue(raw, source.pattern);
}

function findField(value: unknown, field: string, depth: number): unknown {
  if (depth > 16 || value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = findField(item, field, depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  const record = value as Record<string, unknown>;
  if (field in record) return record[field];
  for (const child of Object.values(record)) {
    const found = findField(child, field, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** `text` contains `phrase` as a whole phrase (not inside a longer word). Both lower case. */
export function containsPhrase(text: string, phrase: string): boolean {
  if (phrase.length === 0) return false;
  let from = 0;
  for (;;) {
    const at = text.indexOf(phrase, from);
    if (at === -1) return false;
    const before = at === 0 ? '' : (text[at - 1] as string);
    const after = text[at + phrase.length] ?? '';
    if (!isWordChar(before) && !isWordChar(after)) return true;
    from = at + 1;
  }
}

function isWordChar(char: string): boolean {
  return char !== '' && /[\p{L}\p{N}_]/u.test(char);
}
