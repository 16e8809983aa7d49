/**
 * @module detect/detectors
 * The catalogue of detectors: what each looks for, its class (`secret` or `pii`) and the check that
 * separates a real value from a look-alike (Luhn, mod-97, issued SSN ranges, a decodable JWT header,
 * entropy).
 *
 * The text being scanned is attacker-controlled and JavaScript regexes backtrack, so every pattern here
 * follows three rules (checked by test/detect-linear-time.test.ts and argued in docs/data-protection.md):
 * 1. every quantifier is bounded (`{m,n}` or `?`; never `*`, `+` or `{m,}`), so the work from one
 *    start position is bounded by a constant that depends on the pattern only;
 * 2. a pattern can start only at a boundary (a lookbehind for "not a character of my first run"), so in
 *    a long run of look-alike characters only the first position is tried;
 * 3. repeated groups are delimited by a character their body cannot contain, so a run splits into
 *    groups one way only (no ambiguous nested quantifiers).
 * Unterminated multi-line blocks (private keys) are found by code with an amortised footer search,
 * not by a lazy `[\s\S]*?`. Two speed-ups keep ordinary text cheap without changing what matches:
 * `anchors` (a literal every match contains: no anchor in the text, no regex pass) and `pivot` (for
 * e-mail and IPv6, whose first run is common: start only from each `@` or `:`).
 *
 * Several secret patterns are adapted from gitleaks (https://github.com/gitleaks/gitleaks,
 * config/gitleaks.toml, MIT licence), rewritten to the rules above.
 */
import {
  cardNetwork,
  ibanValid,
  ipv6Valid,
  jwtHeaderValid,
  luhnValid,
  shannonEntropy,
  ssnValid,
} from './checksums.js';

export type DetectorClass = 'secret' | 'pii';

/** Where a finding is in the scanned text (UTF-16 offsets, end exclusive). */
export interface Span {
  readonly start: number;
  readonly end: number;
}

export interface RegexDetector {
  readonly id: string;
  readonly class: DetectorClass;
  readonly description: string;
  /** Global (`g`) and following the rules of this module. */
  readonly pattern: RegExp;
  /** The finding is this capture group (which must end the match) rather than the whole match. */
  readonly group?: number;
  /** Checks a candidate; may narrow it to a span (relative to the match start), or reject it. */
  readonly accept?: (match: RegExpExecArray) => boolean | Span;
  /**
   * Literal strings of which every match contains at least one (case as written): when the text has
   * none, the regex pass is skipped. A fast `includes` per anchor instead of a regex pass.
   */
  readonly anchors?: readonly string[];
  /**
   * For patterns whose first run is a common character class (letters for e-mail, hex for IPv6): every
   * match contains `char` within `back` characters of its start, preceded only by `backClass`
   * characters. The scanner then jumps from one `char` to the next (`indexOf`), steps back over the run
   * and tries the pattern there once, instead of trying it at every word.
   */
  readonly pivot?: { readonly char: string; readonly back: number; readonly backClass: RegExp };
}

export interface CodeDetector {
  readonly id: string;
  readonly class: DetectorClass;
  readonly description: string;
  /** Finds every occurrence in time linear in `text.length`. */
  readonly find: (text: string) => Span[];
}

export type Detector = RegexDetector | CodeDetector;

/** Values that stand for a secret rather than being one: templates, masks, earlier redactions. */
export function isPlaceholder(value: string): boolean {
  if (/^[$%{<[(]/.test(value)) return true;
  if (/^(.)\1{0,255}$/.test(value)) return true; // `********`, `xxxxxxxx`
  return /^(?:null|none|undefined|true|false|changeme|redacted|example|password|secret|hidden)$/i.test(value);
}

function characterClasses(value: string): number {
  return (
    (/[a-z]/.test(value) ? 1 : 0) +
    (/[A-Z]/.test(value) ? 1 : 0) +
    (/[0-9]/.test(value) ? 1 : 0) +
    (/[^A-Za-z0-9]/.test(value) ? 1 : 0)
  );
}

const PASSWORD_WORD = /pass(?:word|wd|phrase)|pwd/i;

/**
 * A value in a secret-like context (`password=`, `"api_key": …`, a JSON field named `token`) is a secret
 * when it is not a placeholder and, for passwords, has some variety; for keys and tokens, when it looks
 * machine-made (long, mixed, high entropy).
 */
export function contextualSecret(keyword: string, value: string): boolean {
  if (value.length < 4 || value.length > 4096 || isPlaceholder(value)) return false;
  // an earlier redaction inside the value (results are scanned again on their way out)
  if (value.includes('[REDACTED:')) return false;
  if (PASSWORD_WORD.test(keyword)) return value.length >= 6 && characterClasses(value) >= 2;
  return value.length >= 12 && characterClasses(value) >= 2 && shannonEntropy(value) >= 3.0;
}

const SECRET_WORDS =
  'password|passwd|pwd|passphrase|secret|api[_-]?key|apikey|access[_-]?key|access[_-]?token|auth[_-]?token|refresh[_-]?token|client[_-]?secret|private[_-]?key|token|credentials?';

const SECRET_KEY_SUFFIX =
  /(?:password|passwd|pwd|passphrase|secret|apikey|accesskey|accesstoken|authtoken|refreshtoken|clientsecret|privatekey|token|credentials?)$/;

/** An object key that names a secret (`password`, `db_password`, `apiKey`, `X-Api-Key`, `token`). */
export function isSecretKeyName(key: string): boolean {
  if (key.length > 64) return false;
  return SECRET_KEY_SUFFIX.test(key.toLowerCase().replace(/[_. -]/g, ''));
}

function luhnCard(match: RegExpExecArray): boolean | Span {
  // The longest run may swallow a neighbouring number: try each group boundary, longest first. The
  // issuer prefix is checked before the Luhn sum: it rejects most runs of digits at once.
  const text = match[0];
  const digits = text.replace(/[ -]/g, '');
  let count = digits.length;
  for (let end = text.length; end > 0 && count >= 13; end--) {
    const boundary = end === text.length || text[end] === ' ' || text[end] === '-';
    if (boundary) {
      const candidate = digits.slice(0, count);
      if (count <= 19 && cardNetwork(candidate) !== undefined && luhnValid(candidate))
        return { start: 0, end };
    }
    if (text[end - 1] !== ' ' && text[end - 1] !== '-') count--;
  }
  return false;
}

/** The label of a PEM private key line (`RSA PRIVATE KEY`, `OPENSSH PRIVATE KEY`, PGP `... BLOCK`). */
export const PRIVATE_KEY_LABEL = '[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?';
const PRIVATE_KEY_HEADER = new RegExp(`-----BEGIN${PRIVATE_KEY_LABEL}-----`, 'g');
const PRIVATE_KEY_FOOTER = new RegExp(`-----END${PRIVATE_KEY_LABEL}-----`, 'y');
const MAX_KEY_BLOCK = 65_536;

/** Base64 body characters, whitespace, and `\` for keys inside JSON-escaped text (`\n`). */
function isKeyBodyChar(code: number): boolean {
  return (
    (code >= 65 && code <= 90) ||
    (code >= 97 && code <= 122) ||
    (code >= 48 && code <= 57) ||
    code === 43 || // +
    code === 47 || // /
    code === 61 || // =
    code === 92 || // \
    code === 32 ||
    code === 9 ||
    code === 10 ||
    code === 13 ||
    code === 58 || // `Proc-Type:` style headers inside the block
    code === 44
  );
}

/**
 * PEM private key blocks, header to footer. The footer is looked up with `indexOf` and remembered, so
 * a megabyte of headers without a footer costs one pass, not one pass per header. A block without its
 * footer is redacted from the header to the end of its body.
 */
function findPrivateKeys(text: string): Span[] {
  const spans: Span[] = [];
  let footerFrom = -1; // the search for `-----END` started here…
  let footerAt = -1; // …and found it here (-1: nowhere after footerFrom)
  PRIVATE_KEY_HEADER.lastIndex = 0;
  for (let header = PRIVATE_KEY_HEADER.exec(text); header; header = PRIVATE_KEY_HEADER.exec(text)) {
    const bodyStart = header.index + header[0].length;
    if (footerFrom === -1 || (footerAt !== -1 && footerAt < bodyStart)) {
      footerFrom = bodyStart;
      footerAt = text.indexOf('-----END', bodyStart);
    }
    let end = -1;
    if (footerAt !== -1 && footerAt - bodyStart <= MAX_KEY_BLOCK) {
      PRIVATE_KEY_FOOTER.lastIndex = footerAt;
      const footer = PRIVATE_KEY_FOOTER.exec(text);
      if (footer) end = footerAt + footer[0].length;
    }
    if (end === -1) {
      end = bodyStart;
      const limit = Math.min(text.length, bodyStart + MAX_KEY_BLOCK);
      while (end < limit && isKeyBodyChar(text.charCodeAt(end))) end++;
    }
    spans.push({ start: header.index, end });
    PRIVATE_KEY_HEADER.lastIndex = end;
  }
  return spans;
}

const OPENAI_MARKER = 'T3BlbkFJ';

/** Every detector, most specific first: on overlapping findings of equal extent, the earlier one names it. */
export const DETECTORS: readonly Detector[] = [
  // ---- secrets ----
  {
    id: 'private_key',
    class: 'secret',
    description: 'PEM private key block (RSA, EC, DSA, OpenSSH, PKCS#8, PGP)',
    find: findPrivateKeys,
  },
  {
    id: 'aws_access_key',
    anchors: ['AKIA', 'ASIA', 'ABIA', 'ACCA', 'A3T'],
    class: 'secret',
    description: 'AWS access key id (AKIA…, ASIA…)',
    pattern: /(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16}(?![A-Za-z0-9])/g,
  },
  {
    id: 'aws_secret_key',
    class: 'secret',
    description: 'AWS secret access key next to its name (aws_secret_access_key=…, "SecretAccessKey": …)',
    pattern:
      /(?<![A-Za-z0-9])(?:aws[_ .-]?secret(?:[_ .-]?access)?[_ .-]?key|secret[_ .-]?access[_ .-]?key)["']?\s{0,3}[:=]\s{0,3}["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/gi,
    group: 1,
  },
  {
    id: 'gcp_api_key',
    anchors: ['AIza'],
    class: 'secret',
    description: 'Google Cloud API key (AIza…)',
    pattern: /(?<![\w-])AIza[\w-]{35}(?![\w-])/g,
  },
  {
    id: 'azure_storage_key',
    anchors: ['AccountKey='],
    class: 'secret',
    description: 'Azure storage account key in a connection string (AccountKey=…)',
    pattern: /(?<![A-Za-z0-9])AccountKey=([A-Za-z0-9+/]{86}==)/g,
    group: 1,
  },
  {
    id: 'azure_client_secret',
    anchors: ['Q~'],
    class: 'secret',
    description: 'Azure AD (Entra ID) client secret (…8Q~…)',
    pattern: /(?<![\w~.-])[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}(?![\w~.-])/g,
  },
  {
    id: 'github_token',
    anchors: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'github_pat_'],
    class: 'secret',
    description: 'GitHub token (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_)',
    pattern: /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})(?![A-Za-z0-9_])/g,
  },
  {
    id: 'gitlab_token',
    anchors: ['glpat-'],
    class: 'secret',
    description: 'GitLab personal access token (glpat-…)',
    pattern: /(?<![\w-])glpat-[\w-]{20,50}(?![\w-])/g,
  },
  {
    id: 'slack_token',
    anchors: ['xox'],
    class: 'secret',
    description: 'Slack token (xoxb-, xoxp-, xoxa-, xoxr-, xoxs-, xoxo-)',
    pattern: /(?<![\w-])xox[abposr]-[A-Za-z0-9-]{10,250}(?![\w-])/g,
  },
  {
    id: 'slack_webhook',
    anchors: ['hooks.slack.com'],
    class: 'secret',
    description: 'Slack incoming webhook URL',
    pattern: /https:\/\/hooks\.slack\.com\/(?:services|workflows)\/[A-Za-z0-9+/]{20,120}/g,
  },
  {
    id: 'stripe_key',
    anchors: ['sk_', 'rk_'],
    class: 'secret',
    description: 'Stripe secret or restricted key (sk_live_, rk_live_, sk_test_)',
    pattern: /(?<![\w])(?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{10,99}(?![A-Za-z0-9])/g,
  },
  {
    id: 'anthropic_api_key',
    anchors: ['sk-ant-'],
    class: 'secret',
    description: 'Anthropic API key (sk-ant-api03-…, sk-ant-admin01-…)',
    pattern: /(?<![\w-])sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_-]{80,110}(?![\w-])/g,
  },
  {
    id: 'openai_api_key',
    anchors: ['sk-'],
    class: 'secret',
    description: 'OpenAI API key (sk-proj-…, sk-svcacct-…, sk-admin-…, legacy sk-…T3BlbkFJ…)',
    pattern: /(?<![\w-])sk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_-]{20,200}(?![\w-])/g,
    accept: (match) =>
      match[0].includes(OPENAI_MARKER) ||
      /^sk-(?:proj|svcacct|admin)-/.test(match[0]) ||
      /^sk-[A-Za-z0-9]{48}$/.test(match[0]),
  },
  {
    id: 'jwt',
    anchors: ['eyJ'],
    class: 'secret',
    description: 'JSON Web Token (three base64url segments, header decodes to JSON with `alg`)',
    pattern: /(?<![\w-])eyJ[A-Za-z0-9_-]{5,2048}\.eyJ[A-Za-z0-9_-]{5,8192}\.[A-Za-z0-9_-]{0,2048}(?![\w-])/g,
    accept: (match) => jwtHeaderValid(match[0].slice(0, match[0].indexOf('.'))),
  },
  {
    id: 'connection_string_password',
    anchors: ['://'],
    class: 'secret',
    description: 'password inside a database/broker URL (postgres://user:PASSWORD@host)',
    pattern:
      /(?<![\w+.-])(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver):\/\/[^\s:/@'"]{1,128}:([^\s@/'"]{1,256})(?=@)/gi,
    group: 1,
    accept: (match) => !isPlaceholder(match[1] ?? ''),
  },
  {
    id: 'secret_assignment',
    class: 'secret',
    description: 'a password, key or token value after its name (password=…, "api_key": "…", token: …)',
    pattern: new RegExp(
      `(?<![A-Za-z0-9])(${SECRET_WORDS})(?:[_.-][A-Za-z0-9]{1,20}){0,2}["']?\\s{0,3}(?:=>|:=|[:=])\\s{0,3}["']?([^\\s"'\`,;&<>]{4,256})`,
      'gi',
    ),
    group: 2,
    accept: (match) => contextualSecret(match[1] ?? '', match[2] ?? ''),
  },
  // ---- personal data ----
  {
    id: 'email',
    anchors: ['@'],
    pivot: { char: '@', back: 64, backClass: /[A-Za-z0-9._%+-]/ },
    class: 'pii',
    description: 'e-mail address',
    pattern:
      /(?<![\w.+%-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}(?![\w-])/g,
  },
  {
    id: 'payment_card',
    class: 'pii',
    description: 'payment card number (13-19 digits, usual grouping, known issuer prefix, Luhn check)',
    // issuer digit 2-6; unbroken, or grouped 4-4-4-4(-3) / 4-6-5 (Amex) / 4-6-4 (Diners) by one separator
    pattern:
      /(?<![\d-])[2-6](?:\d{12,18}|\d{3}([ -])\d{4}\1\d{4}\1\d{1,4}(?:\1\d{1,3})?|\d{3}([ -])\d{6}\2\d{4,5})(?![\d])/g,
    accept: luhnCard,
  },
  {
    id: 'iban',
    class: 'pii',
    description: 'IBAN (country length and ISO 13616 mod-97 check)',
    pattern: /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])/g,
    accept: (match) => ibanValid(match[0].replace(/ /g, '')),
  },
  {
    id: 'us_ssn',
    class: 'pii',
    description: 'US Social Security number (never-issued ranges rejected)',
    pattern: /(?<![\d-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\d-])/g,
    accept: (match) => ssnValid(match[1] ?? '', match[3] ?? '', match[4] ?? ''),
  },
  {
    id: 'phone',
    class: 'pii',
    description: 'phone number (E.164, international with separators, North American)',
    pattern:
      /(?<![\w+.-])(?:\+[1-9]\d{6,14}|\+[1-9]\d{0,2}(?:[ .-]\d{1,5}){2,6}|(?:\+?1[ .-]?)?(?:\([2-9]\d{2}\) ?|[2-9]\d{2}[ .-])[2-9]\d{2}[ .-]\d{4})(?![\w])/g,
    accept: (match) => {
      const digits = match[0].replace(/\D/g, '').length;
      return digits >= 8 && digits <= 15;
    },
  },
  {
    id: 'ipv4',
    class: 'pii',
    description: 'IPv4 address',
    pattern:
      /(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\.?\d)/g,
  },
  {
    id: 'ipv6',
    anchors: [':'],
    pivot: { char: ':', back: 39, backClass: /[0-9A-Fa-f:]/ },
    class: 'pii',
    description: 'IPv6 address (full or `::`-compressed)',
    pattern: /(?<![0-9A-Za-z:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Za-z:.])/g,
    accept: (match) => ipv6Valid(match[0]),
  },
];

export const DETECTOR_IDS: readonly string[] = DETECTORS.map((detector) => detector.id);

export function detectorById(id: string): Detector | undefined {
  return DETECTORS.find((detector) => detector.id === id);
}
