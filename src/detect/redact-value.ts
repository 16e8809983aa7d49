/**
 * @module detect/redact-value
 * Applies a Scanner to a JSON value (tool arguments, tool results, MCP content arrays): every string
 * inside objects and arrays is scanned, and long integers too (a card number can be a JSON number).
 * Each finding gets an action from the caller (redact, block, hold or allow); everything not allowed
 * is replaced by its placeholder in the returned value, so that what is recorded or shown never holds
 * the raw secret. Object keys are not scanned: they are names, not values.
 */
import type { DetectorClass } from './detectors.js';
import { placeholder, replaceFindings, type Scanner } from './scanner.js';

export type RedactionAction = 'redact' | 'block' | 'hold' | 'allow';

/** A finding in a JSON value: where (`content[0].text`), what, and what to do about it. */
export interface ValueFinding {
  readonly path: string;
  readonly detector: string;
  readonly class: DetectorClass;
  readonly action: Exclude<RedactionAction, 'allow'>;
}

export interface RedactedValue {
  /** The value with every non-allowed finding replaced (the input itself when nothing was found). */
  readonly value: unknown;
  readonly findings: readonly ValueFinding[];
}

export type ActionFor = (detector: string, detectorClass: DetectorClass) => RedactionAction;

/** Deeper values are refused (the caller fails closed): no legitimate tool result nests this far. */
export const MAX_DEPTH = 128;

export function redactValue(value: unknown, scanner: Scanner, actionFor: ActionFor): RedactedValue {
  const findings: ValueFinding[] = [];
  const path: (string | number)[] = [];
  const result = walk(value, undefined, scanner, actionFor, findings, path);
  return { value: result, findings };
}

function walk(
  value: unknown,
  key: string | undefined,
  scanner: Scanner,
  actionFor: ActionFor,
  findings: ValueFinding[],
  path: (string | number)[],
): unknown {
  if (typeof value === 'string') return redactString(value, key, scanner, actionFor, findings, path);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || Math.abs(value) < 100_000_000) return value;
    const text = String(value);
    const redacted = redactString(text, key, scanner, actionFor, findings, path);
    return redacted === text ? value : redacted;
  }
  if (typeof value !== 'object' || value === null) return value;
  if (path.length >= MAX_DEPTH) throw new RangeError(`value nested deeper than ${MAX_DEPTH} levels`);
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let index = 0; index < value.length; index++) {
      path.push(index);
      const item = walk(value[index], undefined, scanner, actionFor, findings, path);
      path.pop();
      if (item !== value[index]) {
        copy ??= value.slice();
        copy[index] = item;
      }
    }
    return copy ?? value;
  }
  let copy: Record<string, unknown> | undefined;
  const record = value as Record<string, unknown>;
  for (const name of Object.keys(record)) {
    path.push(name);
    const item = walk(record[name], name, scanner, actionFor, findings, path);
    path.pop();
    if (item !== record[name]) {
      copy ??= { ...record };
      copy[name] = item;
    }
  }
  return copy ?? value;
}

function redactString(
  text: string,
  key: string | undefined,
  scanner: Scanner,
  actionFor: ActionFor,
  findings: ValueFinding[],
  path: readonly (string | number)[],
): string {
  const keyed = key === undefined ? undefined : scanner.scanKeyed(key, text);
  const found = keyed === undefined ? scanner.scan(text) : [keyed];
  if (found.length === 0) return text;
  const replaced = [];
  for (const finding of found) {
    const action = actionFor(finding.detector, finding.class);
    if (action === 'allow') continue;
    replaced.push(finding);
    findings.push({ path: formatPath(path), detector: finding.detector, class: finding.class, action });
  }
  if (keyed !== undefined && replaced.length > 0) return placeholder(keyed.detector);
  return replaceFindings(text, replaced);
}

/** `args.notes`, `content[0].text`: how operators refer to a place in a value. */
export function formatPath(path: readonly (string | number)[]): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(part)) text += text === '' ? part : `.${part}`;
    else text += `[${JSON.stringify(part)}]`;
  }
  return text === '' ? '(value)' : text;
}
