/**
 * @module dataflow/identifiers
 * Finds identifier-like values in text (e-mail addresses, URLs and domains, IBANs, phone and account
 * numbers, @handles/#channels, capitalised names) and normalises values so that the same identifier
 * written differently (case, spaces in an IBAN, `https://www.` prefixes) compares equal.
 *
 * The text scanned is attacker-controlled, so every pattern is linear: each repeated part is bounded
 * in length or unambiguous, and no pattern nests unbounded quantifiers.
 */
import type { IdentifierKind } from '../spec/dataflow-policy.js';

export interface FoundIdentifier {
  readonly kind: IdentifierKind;
  /** Normalised (see `normalizeValue`). */
  readonly value: string;
}

/** What a flow rule looks for unless it says otherwise. */
export const DEFAULT_KINDS: readonly IdentifierKind[] = [
  'email',
  'url',
  'iban',
  'phone',
  'account',
  'handle',
];
/** What outputs and the user's request are indexed for (names are found by phrase search instead). */
export const INDEXED_KINDS: readonly IdentifierKind[] = [...DEFAULT_KINDS, 'date'];

const EMAIL = /(?<![a-z0-9._%+-])[a-z0-9._%+-]{1,64}@[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){1,8}/gi;
const URL =
  /(?<![a-z0-9-])(?:https?:\/\/)?[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){1,8}(?:\/[^\s'"<>()[\]{},]{0,500})?/gi;
const IBAN = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){10,30}\b/g;
const PHONE =
  /(?<![\d+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}[ .-]\d{3,4}(?:[ .-]\d{2,4}){0,2}\b/g;
const ACCOUNT = /\b\d{8,34}\b/g;
const HANDLE = /(?<![\w.@])[@#][a-z0-9_][a-z0-9_.-]{1,63}/gi;
/** Two to six capitalised words, optionally joined by a few lower-case particles. */
const NAME =
  /\b[A-Z][\p{L}'’&-]{0,30}(?:[ ](?:(?:de|la|le|du|of|the|von|van|and)[ ])?[A-Z][\p{L}'’&-]{0,30}){1,5}(?![\p{L}\p{N}])/gu;

/** Domain endings that are file types, not domains (`bill-2023.txt`, `notes.docx`). */
const FILE_ENDINGS = new Set([
  'txt',
  'doc',
  'docx',
  'xls',
  'xlsx',
  'ppt',
  'pptx',
  'pdf',
  'csv',
  'json',
  'yaml',
  'yml',
  'md',
  'png',
  'jpg',
  'jpeg',
  'gif',
  'zip',
  'html',
  'htm',
  'js',
  'ts',
  'py',
  'xml',
  'log',
]);
/** A trailing word that is not part of a name (sentence starts are handled by requiring two words). */
const NAME_STOPWORDS = new Set(['I', 'The', 'A', 'An', 'This', 'That', 'Please', 'Hi', 'Hello', 'Dear']);

/** Lower case, trimmed, inner whitespace collapsed; what every comparison uses. */
export function normalizeValue(text: string): string {
  return text.trim().toLowerCase().replace(/\s+/g, ' ');
}

/** A URL without scheme, `www.` and trailing slash, so `https://www.x.com/` equals `x.com`. */
export function normalizeUrl(text: string): string {
  return normalizeValue(text)
    .replace(/^https?:\/\//, '')
    .replace(/^www\./, '')
    .replace(/[/.?#]+$/, '');
}

/** The host part of a normalised URL. */
export function hostOf(url: string): string {
  const slash = url.indexOf('/');
  return slash === -1 ? url : url.slice(0, slash);
}

/** Every identifier of the given kinds in `text`, normalised; duplicates removed. */
export function extractIdentifiers(
  text: string,
  kinds: readonly IdentifierKind[] = DEFAULT_KINDS,
): FoundIdentifier[] {
  const found = new Map<string, FoundIdentifier>();
  const add = (kind: IdentifierKind, value: string) => {
    if (value.length > 0 && !found.has(value)) found.set(value, { kind, value });
  };
  const wants = (kind: IdentifierKind) => kinds.includes(kind);
  if (text.length < 5) return [];
  const digits = /\d/.test(text);
  let rest = text;
  if (text.includes('@')) {
    rest = text.replace(EMAIL, (match) => {
      if (wants('email')) add('email', normalizeValue(match));
      return ' ';
    });
  }
  if (wants('url') && rest.includes('.')) {
    for (const match of rest.matchAll(URL)) {
      const raw = match[0];
      const host = hostOf(normalizeUrl(raw));
      const ending = host.slice(host.lastIndexOf('.') + 1);
      // a domain ends in letters and is not a file name; a number like 7.25 is not a domain
      if (!/^[a-z]{2,24}$/.test(ending) || FILE_ENDINGS.has(ending)) continue;
      const url = normalizeUrl(raw);
      add('url', url);
      if (url !== host) add('url', host);
    }
  }
  if (digits && /[A-Z]{2}\d{2}/.test(rest)) {
    rest = rest.replace(IBAN, (match) => {
      if (wants('iban')) add('iban', compact(match));
      return ' ';
    });
  }
  if (digits && wants('phone')) {
    for (const match of rest.matchAll(PHONE)) {
      const digits = match[0].replace(/[^\d]/g, '');
      if (digits.length >= 7 && !/^\d{4}[ .-]\d{2}[ .-]\d{2}/.test(match[0])) add('phone', digits);
    }
  }
  if (digits && wants('account')) for (const match of rest.matchAll(ACCOUNT)) add('account', match[0]);
  if (wants('handle') && /[@#]/.test(rest))
    for (const match of rest.matchAll(HANDLE)) add('handle', normalizeValue(match[0]));
  if (digits && wants('date')) for (const date of extractDates(text)) add('date', date);
  if (wants('name')) {
    for (const match of text.matchAll(NAME)) {
      const words = match[0].split(' ');
      while (words.length > 0 && NAME_STOPWORDS.has(words[0] as string)) words.shift();
      if (words.length >= 2) add('name', normalizeValue(words.join(' ')));
    }
  }
  return [...found.values()];
}

/** How a value given whole (an addressing argument) is compared: IBANs and phones compacted. */
export function normalizeWhole(text: string): string {
  const trimmed = text.trim();
  if (/^[A-Za-z]{2}\d{2}[A-Za-z0-9 ]{10,40}$/.test(trimmed)) return compact(trimmed);
  if (/^\+?[\d ().-]{7,}$/.test(trimmed)) return trimmed.replace(/[^\d]/g, '');
  if (/^(?:https?:\/\/)?[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:\/\S*)?$/i.test(trimmed) && !trimmed.includes('@'))
    return normalizeUrl(trimmed);
  return normalizeValue(trimmed);
}

function compact(text: string): string {
  return text.replace(/\s+/g, '').toLowerCase();
}

/** Numbers worth tracking for tenant isolation (fees, amounts): at least three characters. */
const NUMBER = /\d[\d,.]{1,20}\d/g;
export function extractNumbers(text: string): string[] {
  return [...text.matchAll(NUMBER)].map((match) => match[0].replace(/,/g, ''));
}

const MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];
const MONTH =
  '(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\\.?';
const DAY = '(?<!\\d)(\\d{1,2})(?:st|nd|rd|th)?';
const ISO_DATE = /\b\d{4}-(\d{2})-(\d{2})\b/g;
/** "May 13th", "May 13 to 17", "May 13th to May 17th" */
const MONTH_DAY = new RegExp(
  `\\b${MONTH} ${DAY}\\b(?:,? ?(?:to|until|till|and|-|–) ?(?:the )?${DAY}\\b)?`,
  'gi',
);
/** "13th of May", "the 13th to the 17th of May" */
const DAY_MONTH = new RegExp(
  `\\b${DAY}(?: ?(?:to|until|till|and|-|–) ?(?:the )?${DAY})? (?:of )?${MONTH}\\b`,
  'gi',
);

/** Calendar days mentioned in text, as `date:MM-DD` (the year is left out: prose often omits it). */
export function extractDates(text: string): string[] {
  const out: string[] = [];
  const add = (month: number, day: string | undefined) => {
    const number = Number(day);
    if (month >= 1 && month <= 12 && number >= 1 && number <= 31)
      out.push(`date:${String(month).padStart(2, '0')}-${String(number).padStart(2, '0')}`);
  };
  for (const match of text.matchAll(ISO_DATE)) add(Number(match[1]), match[2]);
  if (!/[a-z]/i.test(text)) return out;
  for (const match of text.matchAll(MONTH_DAY)) {
    const month = monthNumber(match[1]);
    add(month, match[2]);
    if (match[3] !== undefined) add(month, match[3]);
  }
  for (const match of text.matchAll(DAY_MONTH)) {
    const month = monthNumber(match[3]);
    add(month, match[1]);
    if (match[2] !== undefined) add(month, match[2]);
  }
  return out;
}

function monthNumber(name: string | undefined): number {
  const lower = (name ?? '').toLowerCase().replace('.', '');
  return MONTHS.findIndex((month) => month.startsWith(lower.slice(0, 3))) + 1;
}

/** The normalised tenant in a value, through the source's pattern when it has one. */
export function tenantValue(raw: unknown, pattern: string | undefined): string | undefined {
  if (typeof raw !== 'string' && typeof raw !== 'number') return undefined;
  let text = String(raw);
  if (pattern !== undefined) {
    const match = new RegExp(pattern).exec(text);
    if (match === null || match[1] === undefined) return undefined;
    text = match[1];
  }
  const tenant = normalizeValue(text);
  return tenant.length > 0 ? tenant : undefined;
}
