/**
 * @module detect/scanner
 * Runs a chosen set of detectors over a string and returns non-overlapping findings; builds the
 * redacted string with typed placeholders (`[REDACTED:aws_access_key]`). Time is linear in the text
 * length (see detect/detectors for why each pattern is).
 */
import {
  contextualSecret,
  DETECTORS,
  type Detector,
  type DetectorClass,
  isSecretKeyName,
  type RegexDetector,
} from './detectors.js';

export interface Finding {
  readonly detector: string;
  readonly class: DetectorClass;
  readonly start: number;
  readonly end: number;
}

/** Detector id used for a value found by its object key (`"password": "…"`). */
export const KEYED_SECRET = 'secret_assignment';

export function placeholder(detector: string): string {
  return `[REDACTED:${detector}]`;
}

/** A placeholder as `placeholder` writes it; the id is checked against the scanner's detectors. */
const PLACEHOLDER = /\[REDACTED:([a-z0-9_]{1,64})\]/g;

export interface ScannerOptions {
  /**
   * Also report the placeholders of earlier redaction as findings of their detector. For values read
   * back from the audit log (replay, backtesting): a secret that was redacted before it was recorded
   * must still count as that secret when the call is decided again.
   */
  readonly placeholders?: boolean;
}

export class Scanner {
  private readonly detectors: readonly Detector[];
  private readonly priority = new Map<string, number>();
  private readonly placeholders: boolean;
  readonly keyedSecrets: boolean;

  /** `ids`: the detectors to run (default: all). An unknown id is an error, never silently nothing. */
  constructor(ids?: readonly string[], options: ScannerOptions = {}) {
    this.placeholders = options.placeholders ?? false;
    if (ids === undefined) this.detectors = DETECTORS;
    else {
      const unknown = ids.filter((id) => !DETECTORS.some((detector) => detector.id === id));
      if (unknown.length > 0) throw new RangeError(`unknown detector(s): ${unknown.join(', ')}`);
      this.detectors = DETECTORS.filter((detector) => ids.includes(detector.id));
    }
    for (const [index, detector] of this.detectors.entries()) this.priority.set(detector.id, index);
    this.keyedSecrets = this.detectors.some((detector) => detector.id === KEYED_SECRET);
  }

  get ids(): readonly string[] {
    return this.detectors.map((detector) => detector.id);
  }

  /**
   * Non-overlapping findings in text order, chosen in tiers: typed secrets first, then secrets known
   * only by their context (`password=…`, which would otherwise swallow a typed key after
   * `credentials: AWS_ACCESS_KEY_ID=`), then personal data (the password in
   * `postgres://app:pw@db.internal` also looks like an e-mail address). Within a tier the longer
   * finding wins, then the more specific detector.
   */
  scan(text: string): Finding[] {
    const found: Finding[] = [];
    for (const detector of this.detectors) collect(detector, text, found);
    if (this.placeholders) this.collectPlaceholders(text, found);
    if (found.length < 2) return found;
    found.sort(
      (left, right) =>
        left.start - right.start ||
        right.end - left.end ||
        (this.priority.get(left.detector) ?? 0) - (this.priority.get(right.detector) ?? 0),
    );
    const tierOf = (finding: Finding) =>
      finding.class !== 'secret' ? 2 : finding.detector === KEYED_SECRET ? 1 : 0;
    let kept: Finding[] = [];
    for (const tier of [0, 1, 2]) {
      const candidates = nonOverlapping(found.filter((finding) => tierOf(finding) === tier));
      kept = kept.length === 0 ? candidates : addWhereFree(kept, candidates);
    }
    return kept;
  }

  private collectPlaceholders(text: string, found: Finding[]): void {
    if (!text.includes('[REDACTED:')) return;
    for (const match of text.matchAll(PLACEHOLDER)) {
      const detector = this.detectors.find((candidate) => candidate.id === match[1]);
      if (detector === undefined) continue; // a detector this policy does not run found nothing here
      found.push({
        detector: detector.id,
        class: detector.class,
        start: match.index,
        end: match.index + match[0].length,
      });
    }
  }

  /** The whole value, when its object key names a secret (`"password": "…"`) and it looks like one. */
  scanKeyed(key: string, value: string): Finding | undefined {
    if (!this.keyedSecrets || !isSecretKeyName(key) || !contextualSecret(key, value)) return undefined;
    return { detector: KEYED_SECRET, class: 'secret', start: 0, end: value.length };
  }
}

/** Greedy in text order: a finding that starts inside the previous kept one is dropped. */
function nonOverlapping(sorted: readonly Finding[]): Finding[] {
  const kept: Finding[] = [];
  let reached = 0;
  for (const finding of sorted) {
    if (finding.start < reached) continue;
    kept.push(finding);
    reached = finding.end;
  }
  return kept;
}

/** `kept` plus each candidate that overlaps none of `kept`; both sorted, the result sorted too. */
function addWhereFree(kept: readonly Finding[], candidates: readonly Finding[]): Finding[] {
  const merged: Finding[] = [...kept];
  let next = 0; // first kept finding that might overlap the current candidate
  for (const finding of candidates) {
    while (next < kept.length && (kept[next] as Finding).end <= finding.start) next++;
    const blocker = kept[next];
    if (blocker === undefined || blocker.start >= finding.end) merged.push(finding);
  }
  return merged.sort((left, right) => left.start - right.start);
}

function collect(detector: Detector, text: string, into: Finding[]): void {
  if ('find' in detector) {
    for (const span of detector.find(text))
      into.push({ detector: detector.id, class: detector.class, start: span.start, end: span.end });
    return;
  }
  const { pattern, anchors } = detector;
  if (anchors !== undefined && !anchors.some((anchor) => text.includes(anchor))) return;
  if (detector.pivot !== undefined) {
    collectAroundPivots(detector, text, into);
    return;
  }
  pattern.lastIndex = 0;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    const verdict = detector.accept === undefined ? true : detector.accept(match);
    if (verdict === false) {
      // a rejected candidate may hide a real one that starts inside it
      pattern.lastIndex = match.index + 1;
      continue;
    }
    let start = match.index;
    let end = match.index + match[0].length;
    if (typeof verdict === 'object') {
      start = match.index + verdict.start;
      end = match.index + verdict.end;
    } else if (detector.group !== undefined) {
      start = end - (match[detector.group] ?? '').length;
    }
    into.push({ detector: detector.id, class: detector.class, start, end });
    pattern.lastIndex = Math.max(end, match.index + 1);
  }
}

const STICKY = new WeakMap<RegExp, RegExp>();

/**
 * Pivot scanning (see RegexDetector.pivot): from each pivot character, step back over the run before
 * it (at most `back` characters) and try the pattern there, anchored (sticky). Each start is tried
 * once and each step back is bounded, so the pass stays linear; the pattern's own boundary lookbehind
 * still decides whether the run start can begin a match.
 */
function collectAroundPivots(detector: RegexDetector, text: string, into: Finding[]): void {
  const { char, back, backClass } = detector.pivot as NonNullable<RegexDetector['pivot']>;
  let sticky = STICKY.get(detector.pattern);
  if (sticky === undefined) {
    sticky = new RegExp(detector.pattern.source, detector.pattern.flags.replace('g', 'y'));
    STICKY.set(detector.pattern, sticky);
  }
  const inRun = (index: number) => backClass.test(text[index] as string);
  let reached = 0;
  let lastStart = -1;
  let previousAt = -1; // the previous pivot, and the run start found for it: each character is stepped
  let previousStart = -1; // over once, however many pivots a run holds (`a:b:c:…`)
  for (let at = text.indexOf(char); at !== -1; at = text.indexOf(char, at + 1)) {
    const floor = Math.max(0, at - back);
    let start = at;
    while (start > floor && start - 1 > previousAt && inRun(start - 1)) start--;
    if (previousAt >= 0 && start === previousAt + 1 && start > floor && inRun(previousAt))
      start = Math.max(previousStart, floor);
    previousAt = at;
    previousStart = start;
    if (at < reached || start === lastStart) continue;
    lastStart = start;
    sticky.lastIndex = start;
    const match = sticky.exec(text);
    if (match === null) continue;
    const verdict = detector.accept === undefined ? true : detector.accept(match);
    if (verdict === false) continue;
    const end = typeof verdict === 'object' ? start + verdict.end : start + match[0].length;
    into.push({
      detector: detector.id,
      class: detector.class,
      start: typeof verdict === 'object' ? start + verdict.start : start,
      end,
    });
    reached = end;
  }
}

/** `text` with each finding replaced by its placeholder; findings must be sorted and non-overlapping. */
export function replaceFindings(text: string, findings: readonly Finding[]): string {
  if (findings.length === 0) return text;
  let result = '';
  let from = 0;
  for (const finding of findings) {
    result += text.slice(from, finding.start) + placeholder(finding.detector);
    from = finding.end;
  }
  return result + text.slice(from);
}
