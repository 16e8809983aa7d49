/**
 * @module policy/reversal-functions
 * The functions reversal expressions may call (registered in the reversal environment of
 * `conditions.ts`, documented in docs/policy.md), and the conversion of what an expression returns to
 * the JSON a capture read or a compensation step is called with. The built-in profiles need them:
 * server-filesystem has no delete tool (a created file is moved into a trash folder, whose path is
 * built with `dirname`/`basename`) and reads raw bytes only as base64 (`read_media_file`) while
 * `write_file` takes text (`base64Utf8`, `isBase64Utf8`); the paths it names as resources are compared
 * across sessions, so they are normalised first (`normalizePath`).
 */

/**
 * POSIX `path.normalize` (Node's results) without a trailing slash: `.` segments and duplicate slashes
 * go, `..` takes off the segment before it (never above `/`), `dir/../a.txt` → `a.txt`, `a//b/` →
 * `a/b`, `` → `.`. A trailing slash would make `dir/` and `dir` different resources.
 */
export function normalizePath(path: string): string {
  const absolute = path.startsWith('/');
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment !== '..') segments.push(segment);
    else if (segments.length > 0 && segments[segments.length - 1] !== '..') segments.pop();
    else if (!absolute) segments.push('..');
  }
  const joined = segments.join('/');
  if (absolute) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

/** POSIX `path.dirname` (Node's algorithm): `a/b.txt` → `a`, `b.txt` → `.`, `/b` → `/`. */
export function dirname(path: string): string {
  if (path.length === 0) return '.';
  const hasRoot = path[0] === '/';
  let end = -1;
  let matchedSlash = true;
  for (let index = path.length - 1; index >= 1; index--) {
    if (path[index] === '/') {
      if (!matchedSlash) {
        end = index;
        break;
      }
    } else matchedSlash = false;
  }
  if (end === -1) return hasRoot ? '/' : '.';
  if (hasRoot && end === 1) return '//';
  return path.slice(0, end);
}

/** POSIX `path.basename` (Node's algorithm, no suffix): `a/b.txt` → `b.txt`, `a/dir/` → `dir`. */
export function basename(path: string): string {
  let start = 0;
  let end = -1;
  let matchedSlash = true;
  for (let index = path.length - 1; index >= 0; index--) {
    if (path[index] === '/') {
      if (!matchedSlash) {
        start = index + 1;
        break;
      }
    } else if (end === -1) {
      matchedSlash = false;
      end = index + 1;
    }
  }
  return end === -1 ? '' : path.slice(start, end);
}

/** Standard base64 with padding; Buffer.from alone would skip characters it does not know. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict: a byte that is not UTF-8 is an error, and a byte order mark is kept (it is content). */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes base64 to UTF-8 text; throws when it is not base64 or the bytes are not valid UTF-8. */
export function base64Utf8(text: string): string {
  if (!BASE64.test(text)) throw new Error('base64Utf8: the text is not base64');
  try {
    return UTF8.decode(Buffer.from(text, 'base64'));
  } catch {
    throw new Error('base64Utf8: the content is not valid UTF-8 (binary content cannot be written as text)');
  }
}

/** Is `text` base64 of bytes that are valid UTF-8 (so that `base64Utf8` gives them back exactly)? */
export function isBase64Utf8(text: string): boolean {
  try {
    base64Utf8(text);
    return true;
  } catch {
    return false;
  }
}

export type JsonResult = { ok: true; value: unknown } | { ok: false; error: string };

/**
 * A CEL value as JSON: ints (bigint in cel-js) become numbers, maps (plain objects, or the Map
 * instances of typed variables) objects, timestamps ISO text. Bytes, durations, types and numbers that
 * JSON cannot carry exactly are refused, naming where they are.
 */
export function toJson(value: unknown): JsonResult {
  try {
    return { ok: true, value: convert(value, '') };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

function convert(value: unknown, at: string): unknown {
  const where = at === '' ? '' : `\`${at}\`: `;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
    throw new Error(`${where}${value} is not a finite number`);
  }
  if (typeof value === 'bigint') {
    if (value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER))
      return Number(value);
    throw new Error(`${where}${value} is too large for a JSON number`);
  }
  if (Array.isArray(value)) return value.map((item, index) => convert(item, `${at}[${index}]`));
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) throw new Error(`${where}bytes are not JSON: pass them as base64 text`);
  if (value instanceof Map) return convertEntries([...value.entries()], at);
  if (typeof value === 'object' && isPlainObject(value)) return convertEntries(Object.entries(value), at);
  const kind = typeof value === 'object' ? (value?.constructor?.name ?? 'object') : typeof value;
  throw new Error(`${where}a ${kind} is not JSON`);
}

function convertEntries(entries: [unknown, unknown][], at: string): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [key, item] of entries) {
    if (typeof key !== 'string') throw new Error(`${at === '' ? '' : `\`${at}\`: `}map keys must be strings`);
    object[key] = convert(item, at === '' ? key : `${at}.${key}`);
  }
  return object;
}

function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
