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

export class Scanner {
  private readonly detectors: readonly Detector[];
  private readonly priority = new Map<string, number>();
  readonly keyedSecrets: boolean;

  /** `ids`: the detectors to run (default: all). An unknown id is an error, never silently nothing. */
  constructor(ids?: readonly string[]) {
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
  const { pattern } = detector;
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
