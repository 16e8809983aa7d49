/**
 * @module dataflow/argument-links
 * Where each argument value of a call came from (issue 18): every string and number in the arguments,
 * and every identifier inside a string, is looked up in the session's data flow (and that of the
 * sessions it was delegated from), and each place it was seen becomes a source — the call whose
 * output held it, the field, and how far that field is trusted — or, when it was seen nowhere, a
 * `none` source: the model's own value.
 *
 * The same lookups a `flows` rule makes (the whole value, identifiers inside it, a URL's host, a short
 * value as a phrase inside untrusted text), so a link explains what a flow rule saw. Pure and bounded:
 * at most MAX_SOURCES sources and MAX_PHRASE_SEARCHES phrase searches per call, whatever the arguments.
 */
import type { DataflowView, SourceRecord, ValueOrigins } from '../spec/dataflow-view.js';
import { type ArgumentSource, type OriginTrust, pointerToken } from '../spec/provenance.js';
import { extractIdentifiers, hostOf, INDEXED_KINDS, normalizeWhole } from './identifiers.js';

/** Most sources listed for one call; past it the list says `truncated`. */
export const MAX_SOURCES = 64;
/** Phrase searches (a scan of the session's untrusted text) one call may cost. */
const MAX_PHRASE_SEARCHES = 16;
/**
 * Characters the phrase searches of one call may scan in all (~10 ms here): a session holding up to
 * 20 MB of untrusted text would otherwise cost 16 scans of it, ~90 ms, on every call.
 */
const MAX_PHRASE_CHARS = 16_000_000;
/** A whole string longer than this is text, not a value: only identifiers inside it are looked up. */
const MAX_WHOLE_VALUE = 200;
/** Characters of one argument string scanned for identifiers. */
const MAX_SCANNED = 100_000;

export interface ArgumentSources {
  readonly sources: ArgumentSource[];
  readonly truncated: boolean;
}

/** Finds the sources of a call's argument values in `view`; `sessionId` is the call's own session. */
export function findArgumentSources(
  args: Readonly<Record<string, unknown>>,
  view: DataflowView,
  sessionId: string,
): ArgumentSources {
  const finder = new SourceFinder(view, sessionId);
  finder.walk(args, '', 0);
  return { sources: finder.sources, truncated: finder.truncated };
}

class SourceFinder {
  readonly sources: ArgumentSource[] = [];
  truncated = false;
  private readonly seen = new Set<string>();
  private phraseSearches = 0;
  private phraseChars = 0;

  constructor(
    private readonly view: DataflowView,
    private readonly sessionId: string,
  ) {}

  walk(value: unknown, path: string, depth: number): void {
    if (value === null || value === undefined) return;
    if (depth > 16) {
      // deeper than the walk goes: the rest is looked at as text (identifiers in it), and said so
      this.truncated = true;
      this.leaf(path, JSON.stringify(value) ?? '');
      return;
    }
    if (typeof value === 'string') this.leaf(path, value);
    else if (typeof value === 'number' || typeof value === 'bigint') this.leaf(path, String(value));
    else if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) this.walk(item, `${path}/${index}`, depth + 1);
    } else if (typeof value === 'object') {
      for (const [key, child] of Object.entries(value as Record<string, unknown>))
        this.walk(child, `${path}/${pointerToken(key)}`, depth + 1);
    }
  }

  /** One argument value: its whole form and the identifiers inside it, each looked up. */
  private leaf(arg: string, raw: string): void {
    if (raw.trim().length === 0) return;
    let found = false;
    if (raw.length <= MAX_WHOLE_VALUE) found = this.lookUp(arg, normalizeWhole(raw), 'value', true);
    const scanned = raw.length > MAX_SCANNED ? raw.slice(0, MAX_SCANNED) : raw;
    if (scanned.length < raw.length) this.truncated = true;
    for (const identifier of extractIdentifiers(scanned, INDEXED_KINDS)) {
      if (identifier.value === normalizeWhole(raw)) continue;
      if (this.lookUp(arg, identifier.value, identifier.kind, false)) found = true;
    }
    if (!found) this.add({ arg, match: 'value', trust: 'none' });
  }

  /** Adds a source for each place `value` was seen; false when it was seen nowhere. */
  private lookUp(arg: string, value: string, match: string, wholeValue: boolean): boolean {
    if (value.length === 0) return false;
    let origins = this.view.origins(value, false);
    // a URL is as much the page's as its host's: `site.com/page` was seen when `site.com` was
    const host = hostOf(value);
    if (!seenAnywhere(origins) && host !== value && host.includes('.'))
      origins = this.view.origins(host, false);
    // a short whole value is also looked for as a phrase in untrusted text, even when a field knows
    // it: the text that asked for it (an injected "delete file 13") is part of where it came from
    const phrased =
      wholeValue && origins.untrusted === undefined && origins.designated === undefined && phraseWorthy(value)
        ? this.searchPhrase(value, seenAnywhere(origins))
        : undefined;
    if (!seenAnywhere(origins) && (phrased === undefined || !seenAnywhere(phrased))) return false;
    if (origins.user) this.add(withFrom({ arg, match, trust: 'user' }, origins.userDeclaredBy));
    else if (phrased?.user)
      this.add(withFrom({ arg, match: 'phrase', trust: 'user' }, phrased.userDeclaredBy));
    this.addSource(arg, match, 'trusted', origins.structured);
    this.addSource(arg, 'phrase', 'untrusted', phrased?.untrusted);
    this.addSource(arg, 'phrase', 'designated', phrased?.designated);
    this.addSource(arg, match, 'untrusted', origins.untrusted);
    this.addSource(arg, match, 'designated', origins.designated);
    this.addSource(arg, match, 'undeclared', origins.undeclared);
    return true;
  }

  /**
   * The phrase search within the call's budget. Past it, a value seen nowhere else makes the record
   * say `truncated` (its `none` may hide a source); a value known from a field keeps that source.
   */
  private searchPhrase(value: string, known: boolean): ValueOrigins | undefined {
    const chars = this.view.phraseSearchChars ?? 0;
    if (this.phraseSearches >= MAX_PHRASE_SEARCHES || this.phraseChars + chars > MAX_PHRASE_CHARS) {
      if (!known) this.truncated = true;
      return undefined;
    }
    this.phraseSearches++;
    this.phraseChars += chars;
    return this.view.origins(value, true);
  }

  private addSource(arg: string, match: string, trust: OriginTrust, record: SourceRecord | undefined): void {
    if (record === undefined) return;
    const source: ArgumentSource = { arg, match, trust, from: record.decisionId, tool: record.tool };
    if (record.field !== undefined) source.field = record.field;
    if (record.sessionId !== undefined && record.sessionId !== this.sessionId)
      source.session = record.sessionId;
    this.add(source);
  }

  private add(source: ArgumentSource): void {
    const key = `${source.arg}\u0000${source.trust}\u0000${source.from ?? ''}\u0000${source.field ?? ''}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    if (this.sources.length >= MAX_SOURCES) {
      this.truncated = true;
      return;
    }
    this.sources.push(source);
  }
}

/** Worth a scan of the untrusted text: three characters or more, or a two-digit number (an id). */
function phraseWorthy(value: string): boolean {
  return value.length >= 3 || /^\d{2}$/.test(value);
}

function seenAnywhere(origins: ValueOrigins): boolean {
  return (
    origins.user ||
    origins.structured !== undefined ||
    origins.untrusted !== undefined ||
    origins.designated !== undefined ||
    origins.undeclared !== undefined
  );
}

function withFrom(source: ArgumentSource, from: string | undefined): ArgumentSource {
  return from === undefined ? source : { ...source, from };
}
