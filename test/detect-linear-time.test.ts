/**
 * @module test/detect-linear-time.test
 * The text being scanned is attacker-controlled, so the detectors must not backtrack catastrophically.
 * Two guards:
 * - structure: every detector pattern obeys the rules of detect/detectors (no unbounded quantifier),
 * - behaviour: one megabyte of crafted near-misses per detector (runs that almost match, repeated
 *   prefixes, unterminated blocks) is scanned to the end.
 * The per-test timeout is the only clock here: a generous ceiling that a linear scan meets by orders of
 * magnitude and a quadratic one (10^12 steps on a megabyte) never does. Throughput is measured in
 * bench/detect.ts, not asserted.
 */
import { describe, expect, it } from 'vitest';
import { DETECTORS, type RegexDetector } from '../src/detect/detectors.js';
import { redactValue } from '../src/detect/redact-value.js';
import { Scanner } from '../src/detect/scanner.js';

const MEGABYTE = 1 << 20;
const CEILING_MS = 60_000;

function repeatTo(unit: string, size = MEGABYTE): string {
  return unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
}

/** Unbounded quantifiers outside character classes: `*`, `+` and `{m,}`. */
function unboundedQuantifiers(source: string): string[] {
  const found: string[] = [];
  let inClass = false;
  for (let index = 0; index < source.length; index++) {
    const char = source[index];
    if (char === '\\') {
      index++;
      continue;
    }
    if (inClass) {
      if (char === ']') inClass = false;
      continue;
    }
    if (char === '[') inClass = true;
    else if (char === '*' || char === '+') found.push(`${char} at ${index}`);
    else if (char === '{') {
      const close = source.indexOf('}', index);
      if (/^\{\d+,\}$/.test(source.slice(index, close + 1)))
        found.push(`${source.slice(index, close + 1)} at ${index}`);
    }
  }
  return found;
}

/** Near-miss units per detector: each almost matches, and repeating it maximises the work of a naive regex. */
const ADVERSARIAL: Record<string, readonly string[]> = {
  private_key: [
    '-----BEGIN RSA PRIVATE KEY-----',
    '-----BEGIN PRIVATE KEY-----\nAAAA',
    '-----END PRIVATE KEY-----',
  ],
  aws_access_key: ['AKIA', 'AKIAIOSFODNN7EXAMP ', 'A3TA'],
  aws_secret_key: [
    'aws_secret_access_key=',
    'aws_secret_access_key = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA ',
  ],
  gcp_api_key: ['AIza', 'AIzaAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-'],
  azure_storage_key: ['AccountKey=', `AccountKey=${'A'.repeat(85)}= `],
  azure_client_secret: ['abc8Q~', 'a8Q~a'],
  github_token: ['ghp_', 'github_pat_', `ghp_${'a'.repeat(35)} `],
  gitlab_token: ['glpat-', 'glpat-aaaaaaaaaaaaaaaaaaa '],
  slack_token: ['xoxb-', 'xoxb-a'],
  slack_webhook: ['https://hooks.slack.com/services/', 'https://hooks.slack.com/services/a'],
  stripe_key: ['sk_live_', 'sk_live_a'],
  anthropic_api_key: ['sk-ant-api03-', 'sk-ant-api03-a'],
  openai_api_key: ['sk-', 'sk-proj-', 'sk-a'],
  jwt: ['eyJ', 'eyJa.', 'eyJaaaaa.eyJaaaaa.', 'eyJ.eyJ.'],
  connection_string_password: ['postgres://', 'postgres://a:', 'postgres://a:b', 'mongodb+srv://a:b:'],
  secret_assignment: ['password=', 'password=a', 'api_key: "', 'token_', 'secret_a_b_c_d:'],
  email: ['a@', 'a.', 'a@a.', 'a@a-', '.@a.a'],
  payment_card: ['4', '4 ', '4444 ', '4444-', '4111 1111 1111 1112 '],
  iban: ['DE89', 'DE89 ', 'DE89 3704 ', 'AA00AAAA'],
  us_ssn: ['123-45-', '123-', '1-'],
  phone: ['+1', '+1 ', '+1 1', '(415) ', '415-555-', '1-'],
  ipv4: ['1.', '1.1.1.', '255.', '25'],
  ipv6: ['a:', '::', 'a::', '1:2:3:4:5:6:7:'],
};

/** Units that, repeated, make real findings: a run of key headers, `password=password=…`. */
const FOUND_WHEN_REPEATED = new Set([
  '-----BEGIN RSA PRIVATE KEY-----',
  '-----BEGIN PRIVATE KEY-----\nAAAA',
  'password=',
  'password=a',
]);

describe('detectors run in linear time on adversarial input', () => {
  it('use only bounded quantifiers', () => {
    const offenders = DETECTORS.filter((detector): detector is RegexDetector => 'pattern' in detector)
      .map((detector) => ({ id: detector.id, unbounded: unboundedQuantifiers(detector.pattern.source) }))
      .filter((entry) => entry.unbounded.length > 0);
    expect(offenders).toEqual([]);
  });

  it('the structural check catches what it must', () => {
    expect(unboundedQuantifiers('(a+)+b')).toHaveLength(2);
    expect(unboundedQuantifiers('a{2,}')).toHaveLength(1);
    expect(unboundedQuantifiers('[a+*]{1,4}\\+x?')).toEqual([]);
  });

  it('has adversarial inputs for every detector', () => {
    expect(Object.keys(ADVERSARIAL).sort()).toEqual(DETECTORS.map((detector) => detector.id).sort());
  });

  const all = new Scanner();
  for (const [id, units] of Object.entries(ADVERSARIAL)) {
    it(
      `${id}: a megabyte of each near-miss is scanned to the end`,
      () => {
        const single = new Scanner([id]);
        for (const unit of units) {
          const text = repeatTo(unit);
          // the result is checked, so the scan cannot be optimised away: a near miss is no finding
          const findings = single.scan(text);
          if (FOUND_WHEN_REPEATED.has(unit)) expect(findings.length, JSON.stringify(unit)).toBeGreaterThan(0);
          else expect(findings, `${id} found something in ${JSON.stringify(unit)} repeated`).toEqual([]);
          all.scan(text);
        }
      },
      CEILING_MS,
    );
  }

  it(
    'a megabyte of one character class, and a megabyte JSON value, complete',
    () => {
      for (const unit of ['a', '0', ' ', '-', '=', '@', ':', '.', '\\', 'A']) all.scan(repeatTo(unit));
      const value = { content: [{ type: 'text', text: repeatTo('password=a AKIA 4111 ') }] };
      // near misses only (a one-letter password, a cut key id, a short number): nothing is redacted
      const redacted = redactValue(value, all, () => 'redact');
      expect(redacted.findings).toEqual([]);
      expect(redacted.value).toEqual(value);
    },
    CEILING_MS,
  );
});
