/**
 * @module inspect/provenance-trace
 * Reconstruction (issue 18): from one call back to where each of its argument values came from. The
 * walk follows the `provenance.sources` of call-intent records: a value from a trusted (or undeclared)
 * field of another call leads to that call, whose own arguments are followed in turn, across delegation
 * hops; the walk ends at the user's declared request, at untrusted content (the field and what it
 * held, read from the source call's recorded output), or at the model's own value.
 *
 * Pure: the records come from a lookup the caller builds on its store (`reins audit trace` builds one
 * on the audit log), so the console or an analysis can use the same walk. Bounded: cycles are cut, and
 * so is a walk deeper or wider than its limits, with a note saying so.
 */
import type { CallIntentEvent, CallOutcomeEvent } from '../spec/audit-event.js';
import {
  type ArgumentSource,
  type DeclaredRequest,
  jsonHeldIn,
  keyOfToken,
  type OriginTrust,
} from '../spec/provenance.js';

/** The intent and outcome of one call; both absent when the call is not on record. */
export interface TraceRecords {
  readonly intent?: CallIntentEvent;
  readonly outcome?: CallOutcomeEvent;
}

/**
 * Finds a call's records. `sessionId` narrows the search to one session; undefined asks for the call
 * by its decision id alone (only for the call the trace starts from, when its session is not known).
 */
export type RecordLookup = (sessionId: string | undefined, decisionId: string) => Promise<TraceRecords>;

export interface TraceOptions {
  /** The session of the call the trace starts from, when known (a faster lookup). */
  readonly sessionId?: string;
  /**
   * Whether any call of a session declared the user's request (true), none did (false), or it cannot
   * be told (undefined). Without it, only the requests seen on the walk are known.
   */
  readonly requestDeclared?: (sessionId: string) => Promise<boolean | undefined>;
  /** Most calls followed from the first one down one path. Default 24. */
  readonly maxDepth?: number;
  /** Most calls expanded in the whole trace. Default 200. */
  readonly maxSteps?: number;
}

export const DEFAULT_TRACE_DEPTH = 24;
export const DEFAULT_TRACE_STEPS = 200;
/** Characters of a value or of untrusted content shown in a trace. */
export const TRACE_DISPLAY_LENGTH = 240;

/** A call as a trace names it. */
export interface TraceCallRef {
  readonly decisionId: string;
  readonly sessionId: string;
  /** `server/name`. */
  readonly tool: string;
  readonly agentId: string;
}

/** One call on the walk, with where its argument values came from. */
export interface TraceStep {
  readonly kind: 'call';
  readonly call: TraceCallRef & {
    readonly time: string;
    /** The decision's effect (allow, deny, approve). */
    readonly effect: string;
    /** The recorded outcome, if any. */
    readonly outcome?: string;
  };
  /** The user's request, when this call's record declared it. */
  readonly request?: DeclaredRequest;
  /** The call had more argument values than its record lists. */
  readonly truncated?: true;
  /** The session's data flow was incomplete: a `none` source may hide a real one. */
  readonly incomplete?: true;
  /** The argument values with sources, in the order the record lists them. */
  readonly arguments: readonly TraceArgument[];
  /** Set when the walk cannot go past this call (no provenance recorded, no argument values). */
  readonly stop?: TraceEnd;
}

export interface TraceArgument {
  /** JSON pointer of the value in the call's arguments. */
  readonly arg: string;
  /** The value as recorded (redacted), for display; absent when the pointer finds nothing. */
  readonly value?: string;
  readonly sources: readonly TraceBranch[];
}

export interface TraceBranch {
  readonly source: ArgumentSource;
  /** The walk crossed into another session here (a delegation hop). */
  readonly hop?: { readonly from: string; readonly to: string };
  readonly next: TraceStep | TraceEnd;
}

/** The place a path ends. */
export type TraceEnd =
  | {
      /** The user's declared request; `request` absent: it is not on record. */
      readonly kind: 'user-request';
      readonly request?: DeclaredRequest;
      /** The call whose record carries the request. */
      readonly declaredBy?: TraceCallRef;
    }
  | {
      /** Text others wrote (`untrusted`), or that the user pointed at (`designated`). */
      readonly kind: 'untrusted-content';
      readonly trust: 'untrusted' | 'designated';
      /** The call whose output held it (from the source, when the call itself is not on record). */
      readonly call: Partial<TraceCallRef> & { readonly decisionId?: string };
      readonly field?: string;
      /** What the field held in the recorded output, shortened for display. */
      readonly content?: string;
      readonly contentTruncated?: true;
      /** Why `content` is absent. */
      readonly contentMissing?: 'call-not-found' | 'no-field' | 'no-output' | 'not-in-output';
    }
  | {
      /** Seen nowhere Reins looked: the model's own value. */
      readonly kind: 'model-value';
      /** Whether a request was declared on the path's sessions; undefined: not known. */
      readonly requestDeclared?: boolean;
      /** The data flow was incomplete: a source may be missing. */
      readonly mayHideSource?: true;
    }
  | { readonly kind: 'provenance-not-recorded'; readonly call: TraceCallRef }
  | { readonly kind: 'no-arguments'; readonly call: TraceCallRef }
  | {
      /** A source call the log does not hold (pruned, or in a session that was not searched). */
      readonly kind: 'call-not-found';
      readonly decisionId?: string;
      readonly tool?: string;
      readonly sessions: readonly string[];
    }
  | {
      /** A call expanded elsewhere in this trace; its sources are listed there. */
      readonly kind: 'repeated';
      readonly call: TraceCallRef;
    }
  | {
      readonly kind: 'cut';
      readonly reason: 'cycle' | 'depth' | 'steps';
      readonly decisionId: string;
    };

export interface ProvenanceTrace {
  readonly decisionId: string;
  readonly root: TraceStep;
  /** Calls expanded. */
  readonly steps: number;
  /** Why some paths were cut short, if any were. */
  readonly cut: readonly ('cycle' | 'depth' | 'steps')[];
}

export type TraceResult =
  | { readonly ok: true; readonly trace: ProvenanceTrace }
  | { readonly ok: false; readonly code: 'not_found'; readonly message: string };

/** Walks the provenance of call `decisionId` back to its ends. Store errors reject; an unknown id does not. */
export async function traceProvenance(
  decisionId: string,
  lookup: RecordLookup,
  options: TraceOptions = {},
): Promise<TraceResult> {
  const walker = new TraceWalker(lookup, options);
  const found = await walker.find(options.sessionId, decisionId);
  if (found.intent === undefined)
    return {
      ok: false,
      code: 'not_found',
      message: `no call \`${decisionId}\` in the audit log${options.sessionId === undefined ? '' : ` of session \`${options.sessionId}\``}`,
    };
  const root = await walker.step(
    { intent: found.intent, outcome: found.outcome },
    [decisionId],
    [found.intent.sessionId],
  );
  return { ok: true, trace: { decisionId, root, steps: walker.steps, cut: [...walker.cut] } };
}

interface FoundCall {
  readonly intent: CallIntentEvent;
  readonly outcome: CallOutcomeEvent | undefined;
}

class TraceWalker {
  steps = 0;
  readonly cut = new Set<'cycle' | 'depth' | 'steps'>();
  private readonly expanded = new Set<string>();
  private readonly records = new Map<string, Promise<TraceRecords>>();
  private readonly declared = new Map<string, Promise<boolean | undefined>>();
  /** Sessions in which the walk saw a declared request. */
  private readonly requestSeen = new Set<string>();
  private readonly maxDepth: number;
  private readonly maxSteps: number;

  constructor(
    private readonly lookup: RecordLookup,
    private readonly options: TraceOptions,
  ) {
    this.maxDepth = options.maxDepth ?? DEFAULT_TRACE_DEPTH;
    this.maxSteps = options.maxSteps ?? DEFAULT_TRACE_STEPS;
  }

  /** One lookup per call and session, however often the trace meets it. */
  find(sessionId: string | undefined, decisionId: string): Promise<TraceRecords> {
    const key = `${sessionId ?? ''}\u0000${decisionId}`;
    let records = this.records.get(key);
    if (records === undefined) {
      records = this.lookup(sessionId, decisionId);
      this.records.set(key, records);
    }
    return records;
  }

  /**
   * A source call: in the session the source names, else in the call's own session, else in the
   * sessions it was delegated from (a link recorded before sources named their session).
   */
  private async locate(
    decisionId: string,
    source: ArgumentSource,
    from: CallIntentEvent,
  ): Promise<{ found?: FoundCall; sessions: string[] }> {
    const sessions = [
      ...new Set([
        ...(source.session === undefined ? [] : [source.session]),
        from.sessionId,
        ...from.principal.parentSessions,
      ]),
    ];
    for (const sessionId of sessions) {
      const records = await this.find(sessionId, decisionId);
      if (records.intent !== undefined)
        return { found: { intent: records.intent, outcome: records.outcome }, sessions };
    }
    return { sessions };
  }

  async step(found: FoundCall, path: readonly string[], sessions: readonly string[]): Promise<TraceStep> {
    const { intent } = found;
    this.steps++;
    this.expanded.add(intent.decisionId);
    const call = {
      ...callRef(intent),
      time: intent.time,
      effect: intent.decision.effect,
      ...(found.outcome ? { outcome: found.outcome.outcome } : {}),
    };
    const provenance = intent.provenance;
    if (provenance === undefined)
      return {
        kind: 'call',
        call,
        arguments: [],
        stop: { kind: 'provenance-not-recorded', call: callRef(intent) },
      };
    if (provenance.request !== undefined) this.requestSeen.add(intent.sessionId);
    const flags = {
      ...(provenance.request ? { request: provenance.request } : {}),
      ...(provenance.truncated ? { truncated: true as const } : {}),
      ...(provenance.incomplete ? { incomplete: true as const } : {}),
    };
    if (provenance.sources.length === 0)
      return {
        kind: 'call',
        call,
        ...flags,
        arguments: [],
        stop: { kind: 'no-arguments', call: callRef(intent) },
      };
    const argumentList: TraceArgument[] = [];
    for (const [arg, sources] of groupByArgument(provenance.sources)) {
      const branches: TraceBranch[] = [];
      for (const source of sources) branches.push(await this.branch(source, intent, path, sessions));
      const value = resolveFieldPointer(intent.args, arg);
      argumentList.push({
        arg,
        ...(value.found ? { value: display(value.value).text } : {}),
        sources: branches,
      });
    }
    return { kind: 'call', call, ...flags, arguments: argumentList };
  }

  private async branch(
    source: ArgumentSource,
    intent: CallIntentEvent,
    path: readonly string[],
    sessions: readonly string[],
  ): Promise<TraceBranch> {
    switch (source.trust) {
      case 'none':
        return { source, next: await this.modelValue(intent, sessions) };
      case 'user':
        return { source, next: await this.userRequest(source, intent) };
      case 'untrusted':
      case 'designated':
        return this.untrusted(source, source.trust, intent);
      default:
        return this.follow(source, intent, path, sessions);
    }
  }

  private async modelValue(intent: CallIntentEvent, sessions: readonly string[]): Promise<TraceEnd> {
    const requestDeclared = await this.requestDeclaredOn(sessions);
    return {
      kind: 'model-value',
      ...(requestDeclared === undefined ? {} : { requestDeclared }),
      ...(intent.provenance?.incomplete ? { mayHideSource: true as const } : {}),
    };
  }

  /** True if any of the sessions declared a request; false only if every one is known not to have. */
  private async requestDeclaredOn(sessions: readonly string[]): Promise<boolean | undefined> {
    let known = true;
    for (const sessionId of new Set(sessions)) {
      if (this.requestSeen.has(sessionId)) return true;
      const declared = await this.sessionDeclared(sessionId);
      if (declared === true) return true;
      if (declared === undefined) known = false;
    }
    return known ? false : undefined;
  }

  private sessionDeclared(sessionId: string): Promise<boolean | undefined> {
    const ask = this.options.requestDeclared;
    if (ask === undefined) return Promise.resolve(undefined);
    let declared = this.declared.get(sessionId);
    if (declared === undefined) {
      declared = ask(sessionId);
      this.declared.set(sessionId, declared);
    }
    return declared;
  }

  private async userRequest(source: ArgumentSource, intent: CallIntentEvent): Promise<TraceEnd> {
    // a value from the user's request proves one was declared, whether or not its record is kept
    this.requestSeen.add(intent.sessionId);
    if (source.from === undefined) return { kind: 'user-request' };
    const declaring =
      source.from === intent.decisionId
        ? intent
        : (await this.locate(source.from, source, intent)).found?.intent;
    const request = declaring?.provenance?.request;
    if (declaring === undefined || request === undefined) return { kind: 'user-request' };
    this.requestSeen.add(declaring.sessionId);
    return { kind: 'user-request', request, declaredBy: callRef(declaring) };
  }

  private async untrusted(
    source: ArgumentSource,
    trust: 'untrusted' | 'designated',
    intent: CallIntentEvent,
  ): Promise<TraceBranch> {
    const named = {
      ...(source.from === undefined ? {} : { decisionId: source.from }),
      ...(source.tool === undefined ? {} : { tool: source.tool }),
      ...(source.session === undefined ? {} : { sessionId: source.session }),
    };
    const base = {
      kind: 'untrusted-content' as const,
      trust,
      ...(source.field !== undefined ? { field: source.field } : {}),
    };
    const found =
      source.from === undefined ? undefined : (await this.locate(source.from, source, intent)).found;
    if (found === undefined)
      return { source, next: { ...base, call: named, contentMissing: 'call-not-found' } };
    const hop = hopOf(intent, found.intent);
    const next = { ...base, call: callRef(found.intent), ...contentAt(found.outcome, source, intent.args) };
    return { source, ...hop, next };
  }

  private async follow(
    source: ArgumentSource,
    intent: CallIntentEvent,
    path: readonly string[],
    sessions: readonly string[],
  ): Promise<TraceBranch> {
    const from = source.from;
    if (from === undefined)
      return {
        source,
        next: { kind: 'call-not-found', ...(source.tool ? { tool: source.tool } : {}), sessions: [] },
      };
    if (path.includes(from)) return { source, next: this.cutAt('cycle', from) };
    const { found, sessions: searched } = await this.locate(from, source, intent);
    if (found === undefined)
      return {
        source,
        next: {
          kind: 'call-not-found',
          decisionId: from,
          ...(source.tool ? { tool: source.tool } : {}),
          sessions: searched,
        },
      };
    const hop = hopOf(intent, found.intent);
    if (this.expanded.has(from))
      return { source, ...hop, next: { kind: 'repeated', call: callRef(found.intent) } };
    if (path.length > this.maxDepth) return { source, ...hop, next: this.cutAt('depth', from) };
    if (this.steps >= this.maxSteps) return { source, ...hop, next: this.cutAt('steps', from) };
    const next = await this.step(found, [...path, from], [...sessions, found.intent.sessionId]);
    return { source, ...hop, next };
  }

  private cutAt(reason: 'cycle' | 'depth' | 'steps', decisionId: string): TraceEnd {
    this.cut.add(reason);
    return { kind: 'cut', reason, decisionId };
  }
}

function callRef(intent: CallIntentEvent): TraceCallRef {
  return {
    decisionId: intent.decisionId,
    sessionId: intent.sessionId,
    tool: `${intent.tool.server}/${intent.tool.name}`,
    agentId: intent.principal.agentId,
  };
}

function hopOf(from: CallIntentEvent, to: CallIntentEvent): { hop?: { from: string; to: string } } {
  return from.sessionId === to.sessionId ? {} : { hop: { from: from.sessionId, to: to.sessionId } };
}

/** Sources by argument, in the order the record lists them. */
function groupByArgument(sources: readonly ArgumentSource[]): Map<string, ArgumentSource[]> {
  const groups = new Map<string, ArgumentSource[]>();
  for (const source of sources) {
    const group = groups.get(source.arg);
    if (group === undefined) groups.set(source.arg, [source]);
    else group.push(source);
  }
  return groups;
}

/** What the untrusted field held in the source call's recorded output, around the argument's value. */
function contentAt(
  outcome: CallOutcomeEvent | undefined,
  source: ArgumentSource,
  args: Readonly<Record<string, unknown>>,
): {
  content?: string;
  contentTruncated?: true;
  contentMissing?: 'no-field' | 'no-output' | 'not-in-output';
} {
  if (source.field === undefined) return { contentMissing: 'no-field' };
  if (outcome === undefined || outcome.result === undefined) return { contentMissing: 'no-output' };
  const held = resolveFieldPointer(outcome.result, source.field);
  if (!held.found) return { contentMissing: 'not-in-output' };
  const argument = resolveFieldPointer(args, source.arg);
  const focus = argument.found && typeof argument.value === 'string' ? argument.value : undefined;
  const shown = display(held.value, focus);
  return { content: shown.text, ...(shown.truncated ? { contentTruncated: true as const } : {}) };
}

/** Most reference tokens followed in one pointer. */
const MAX_POINTER_TOKENS = 256;

export type Resolved = { readonly found: true; readonly value: unknown } | { readonly found: false };
const NOT_FOUND: Resolved = { found: false };

/**
 * The value at a field pointer: RFC 6901, where `#` means "parse the string here as JSON and go on
 * inside it" (`/content/0/text#/entities/0/name`), as the data flow writes fields of JSON held as text.
 */
export function resolveFieldPointer(value: unknown, pointer: string): Resolved {
  let current = value;
  let rest = pointer;
  for (let tokens = 0; tokens < MAX_POINTER_TOKENS; tokens++) {
    if (rest === '') return { found: true, value: current };
    if (rest.startsWith('#')) {
      const parsed = parsedAt(value, pointer.slice(0, pointer.length - rest.length), current);
      if (parsed === undefined) return NOT_FOUND;
      current = parsed;
      rest = rest.slice(1);
      continue;
    }
    if (!rest.startsWith('/')) return NOT_FOUND;
    const end = rest.indexOf('/', 1);
    const token = end === -1 ? rest.slice(1) : rest.slice(1, end);
    const after = end === -1 ? '' : rest.slice(end);
    // a `#` in a key is written `~2`: a bare one ends the token and goes on inside JSON held as text
    const hop = token.indexOf('#');
    const child = childOf(current, keyOfToken(hop === -1 ? token : token.slice(0, hop)));
    if (!child.found) return NOT_FOUND;
    current = child.value;
    rest = hop === -1 ? after : `${token.slice(hop)}${after}`;
  }
  return NOT_FOUND;
}

/**
 * JSON held as text, parsed once per recorded output and place: a trace may resolve many sources
 * into the same large page, and must not parse it again for each.
 */
const PARSED = new WeakMap<object, Map<string, unknown>>();

function parsedAt(root: unknown, place: string, text: unknown): unknown {
  if (root === null || typeof root !== 'object') return jsonHeldIn(text);
  let cache = PARSED.get(root);
  if (cache === undefined) {
    cache = new Map();
    PARSED.set(root, cache);
  }
  if (!cache.has(place)) cache.set(place, jsonHeldIn(text));
  return cache.get(place);
}

function childOf(value: unknown, key: string): Resolved {
  if (Array.isArray(value)) {
    if (!/^(0|[1-9]\d*)$/.test(key)) return NOT_FOUND;
    const index = Number(key);
    return index < value.length ? { found: true, value: value[index] } : NOT_FOUND;
  }
  if (value !== null && typeof value === 'object' && Object.hasOwn(value, key))
    return { found: true, value: (value as Record<string, unknown>)[key] };
  return NOT_FOUND;
}

/**
 * A value as text for display, at most TRACE_DISPLAY_LENGTH characters; a long text is shown around
 * `focus` (the argument's value) when it holds it, so the reader sees the words that carried it.
 */
export function display(value: unknown, focus?: string): { text: string; truncated: boolean } {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  if (text.length <= TRACE_DISPLAY_LENGTH) return { text, truncated: false };
  const at = focus === undefined || focus === '' ? -1 : text.toLowerCase().indexOf(focus.toLowerCase());
  if (at === -1) return { text: `${text.slice(0, TRACE_DISPLAY_LENGTH - 1)}…`, truncated: true };
  const room = Math.max(0, TRACE_DISPLAY_LENGTH - 2 - (focus?.length ?? 0));
  const start = Math.max(0, at - Math.floor(room / 2));
  const end = Math.min(text.length, start + TRACE_DISPLAY_LENGTH - 2);
  return {
    text: `${start > 0 ? '…' : ''}${text.slice(start, end)}${end < text.length ? '…' : ''}`,
    truncated: true,
  };
}

/** One end of a trace and the way to it from the traced call. */
export interface TracedEnd {
  readonly end: TraceEnd;
  /** The calls and arguments from the traced call to the end, first to last. */
  readonly path: readonly {
    readonly decisionId: string;
    readonly tool: string;
    readonly arg: string;
    readonly trust: OriginTrust;
  }[];
}

/**
 * Every end of a trace with its path, depth first in the order of the trace. A `repeated` call is not
 * an end (its ends are listed where it was expanded).
 */
export function listTraceEnds(trace: ProvenanceTrace): TracedEnd[] {
  const ends: TracedEnd[] = [];
  const visit = (step: TraceStep, path: TracedEnd['path']) => {
    if (step.stop !== undefined) ends.push({ end: step.stop, path });
    for (const argument of step.arguments)
      for (const branch of argument.sources) {
        const here = [
          ...path,
          {
            decisionId: step.call.decisionId,
            tool: step.call.tool,
            arg: argument.arg,
            trust: branch.source.trust,
          },
        ];
        if (branch.next.kind === 'call') visit(branch.next, here);
        else if (branch.next.kind !== 'repeated') ends.push({ end: branch.next, path: here });
      }
  };
  visit(trace.root, []);
  return ends;
}

/**
 * The trace as an indented tree for a person (`reins audit trace`): the call, each argument value,
 * and under it where the value came from, down to each end.
 */
export function formatTrace(trace: ProvenanceTrace): string[] {
  const lines: string[] = [];
  formatStep(trace.root, '', lines);
  lines.push('', summarizeEnds(listTraceEnds(trace)));
  if (trace.cut.length > 0)
    lines.push(
      '',
      `note: the trace was cut short (${trace.cut.map(describeCut).join('; ')}): some paths end early`,
    );
  // every string in a record may be an agent's or an upstream's: none may move the cursor, start a
  // line of its own or turn text around on the reader's terminal
  return lines.map(printable);
}

/**
 * A line as it may be printed: control characters (C0, DEL, C1), line and paragraph separators and
 * bidirectional overrides written as `\u` escapes.
 */
export function printable(line: string): string {
  return line.replace(
    UNPRINTABLE,
    (char) => `\\u${(char.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`,
  );
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its purpose
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** `3 paths: 1 to the user's request, 1 to untrusted content, 1 to the model's own value`. */
function summarizeEnds(ends: readonly TracedEnd[]): string {
  const counts = new Map<string, number>();
  for (const { end } of ends) counts.set(END_SUMMARY[end.kind], (counts.get(END_SUMMARY[end.kind]) ?? 0) + 1);
  const parts = [...counts].map(([what, count]) => `${count} to ${what}`);
  return `${ends.length} path${ends.length === 1 ? '' : 's'}${parts.length > 0 ? `: ${parts.join(', ')}` : ''}`;
}

const END_SUMMARY: Record<TraceEnd['kind'], string> = {
  'user-request': "the user's request",
  'untrusted-content': 'untrusted content',
  'model-value': "the model's own value",
  'provenance-not-recorded': 'a call without recorded provenance',
  'no-arguments': "a tool's own output",
  'call-not-found': 'a call not in the log',
  repeated: 'a call traced above',
  cut: 'a cut',
};

function formatStep(step: TraceStep, indent: string, lines: string[]): void {
  const { call } = step;
  const outcome = call.outcome === undefined ? '' : `, ${call.outcome}`;
  lines.push(
    `${indent}${call.tool} [decision ${call.decisionId}] by ${call.agentId}, session ${call.sessionId}: ${call.effect}${outcome}`,
  );
  const inner = `${indent}  `;
  if (step.request)
    lines.push(`${inner}request declared ${viaText(step.request)}: ${quote(step.request.text)}`);
  if (step.stop) lines.push(`${inner}${describeEnd(step.stop)}`);
  for (const argument of step.arguments) {
    lines.push(`${inner}${argument.arg}${argument.value === undefined ? '' : ` = ${quote(argument.value)}`}`);
    for (const branch of argument.sources) {
      const hop = branch.hop ? ` — delegation hop into session ${branch.hop.to}` : '';
      if (branch.next.kind === 'call') {
        lines.push(`${inner}  ← ${describeField(branch.source)}${hop}`);
        formatStep(branch.next, `${inner}    `, lines);
      } else {
        lines.push(`${inner}  ← ${describeEnd(branch.next, branch.source, call.decisionId)}${hop}`);
      }
    }
  }
  if (step.truncated) lines.push(`${inner}(the call had more values than its record lists)`);
}

/** `field /email of call D (crm/get_contact, trusted)`. */
function describeField(source: ArgumentSource): string {
  // the root pointer ("") is the whole output
  const field = source.field === undefined || source.field === '' ? 'the output' : `field ${source.field}`;
  const tool = source.tool === undefined ? '' : `${source.tool}, `;
  return `${field} of call ${source.from ?? '(unknown)'} (${tool}${source.trust})${matchText(source)}`;
}

/** How the value was found, when it was not the whole value. */
function matchText(source: ArgumentSource): string {
  if (source.match === 'value') return '';
  if (source.match === 'phrase') return ' (found as a phrase in its text)';
  return ` (the ${source.match} inside the value)`;
}

/** `at`: the call whose argument the end explains. */
function describeEnd(end: TraceEnd, source?: ArgumentSource, at?: string): string {
  switch (end.kind) {
    case 'user-request': {
      if (end.request === undefined) return "the user's request (not on record)";
      const by = end.declaredBy?.decisionId;
      return `the user asked: ${quote(end.request.text)} (declared ${by === at ? 'with this call' : `with call ${by}`})`;
    }
    case 'untrusted-content': {
      const label =
        end.trust === 'designated'
          ? 'designated content (untrusted text the user pointed at)'
          : 'untrusted content';
      const field = end.field === undefined || end.field === '' ? 'the output' : `field ${end.field}`;
      const tool = end.call.tool === undefined ? '' : ` (${end.call.tool})`;
      const session = end.call.sessionId === undefined ? '' : ` in session ${end.call.sessionId}`;
      const what = `${label} in ${field} of call ${end.call.decisionId ?? '(unknown)'}${tool}${session}`;
      const match = source === undefined ? '' : matchText(source);
      return `${what}${match}: ${end.content === undefined ? `(${missingText(end.contentMissing)})` : quote(end.content)}`;
    }
    case 'model-value': {
      const notes = [
        ...(end.requestDeclared === false ? ['no declared request'] : []),
        ...(end.mayHideSource ? ["the session's data flow was incomplete: a source may be missing"] : []),
      ];
      return `the model's own value${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`;
    }
    case 'provenance-not-recorded':
      return 'provenance not recorded (written before argument provenance, or by a dry run)';
    case 'no-arguments':
      return 'no argument values to follow: what it returned is the tool’s own output';
    case 'call-not-found': {
      const tool = end.tool === undefined ? '' : ` (${end.tool})`;
      const where = end.sessions.length > 0 ? ` of session ${end.sessions.join(', ')}` : '';
      return `call ${end.decisionId ?? '(unknown)'}${tool} is not in the log${where} (pruned?)`;
    }
    case 'repeated':
      return `${source ? describeField(source) : `call ${end.call.decisionId}`}: traced above`;
    case 'cut':
      return `${source ? describeField(source) : `call ${end.decisionId}`}: not followed (${describeCut(end.reason)})`;
  }
}

function describeCut(reason: 'cycle' | 'depth' | 'steps'): string {
  if (reason === 'cycle') return 'a cycle back to a call already on the path';
  if (reason === 'depth') return 'the depth limit';
  return 'the limit of calls in one trace';
}

function missingText(missing: string | undefined): string {
  switch (missing) {
    case 'call-not-found':
      return 'the call is not in the log';
    case 'no-field':
      return 'no field recorded';
    case 'no-output':
      return 'no recorded output';
    default:
      return 'the field is not in the recorded output';
  }
}

function viaText(request: DeclaredRequest): string {
  return request.via === 'session' ? 'for the session' : 'with this call';
}

function quote(text: string): string {
  return JSON.stringify(text);
}
