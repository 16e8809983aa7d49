/**
 * @module detect/detectors.test
 * Every detector: true positives (the exact span is found and typed) and near misses that must not be
 * reported (bad Luhn, bad IBAN checksum, never-issued SSNs, truncated tokens, placeholders…).
 */
import { describe, expect, it } from 'vitest';
import { DETECTOR_IDS } from './detectors.js';
import { redactValue } from './redact-value.js';
import { Scanner } from './scanner.js';

/** Deterministic pseudo-random text over an alphabet (tokens must look machine-made, not repetitive). */
function token(
  length: number,
  alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
): string {
  let seed = length * 7919 + alphabet.length;
  let text = '';
  for (let index = 0; index < length; index++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    text += alphabet[seed % alphabet.length];
  }
  return text;
}
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

const JWT_HEADER = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9';
const JWT_PAYLOAD = 'eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ';
const JWT_SIGNATURE = 'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
const PEM = `-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA${token(64, B64)}\n${token(64, B64)}==\n-----END RSA PRIVATE KEY-----`;

/** [detector, the secret or personal value, the text around it ({} marks where the value goes)] */
const TRUE_POSITIVES: readonly [string, string, string][] = [
  ['private_key', PEM, 'key file:\n{}\n'],
  [
    'private_key',
    `-----BEGIN OPENSSH PRIVATE KEY-----\\n${token(70, B64)}\\n`,
    '{"k": "{}"} (JSON-escaped, no footer)',
  ],
  ['aws_access_key', 'AKIAIOSFODNN7EXAMPLE', 'export AWS_ACCESS_KEY_ID={}'],
  ['aws_access_key', 'ASIAY34FZKBOKMUTVV7A', 'temporary credentials {} expire soon'],
  ['aws_secret_key', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'aws_secret_access_key = {}'],
  ['aws_secret_key', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', '"SecretAccessKey": "{}"'],
  ['gcp_api_key', `AIza${token(35, B64URL)}`, 'maps key {} in the page'],
  [
    'azure_storage_key',
    `${token(86, B64)}==`,
    'DefaultEndpointsProtocol=https;AccountName=x;AccountKey={};EndpointSuffix=core',
  ],
  ['azure_client_secret', `abc8Q~${token(34, B64URL)}`, 'client secret: {}'],
  ['github_token', `ghp_${token(36)}`, 'token {} pasted'],
  ['github_token', `github_pat_${token(82, `${B64URL.slice(0, 62)}_`)}`, 'GH={}'],
  ['gitlab_token', `glpat-${token(20, B64URL)}`, 'use {} for the registry'],
  ['slack_token', 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx', 'SLACK_BOT={}'],
  ['slack_webhook', `https://hooks.slack.com/services/T0AB12CD3/B0CD34EF5/${token(24)}`, 'post to {}'],
  ['stripe_key', `sk_live_${token(24)}`, 'stripe: {}'],
  ['stripe_key', `rk_test_${token(30)}`, 'restricted {}.'],
  ['anthropic_api_key', `sk-ant-api03-${token(93, B64URL)}AA`, 'ANTHROPIC_API_KEY={}'],
  ['openai_api_key', `sk-proj-${token(74, B64URL)}T3BlbkFJ${token(74, B64URL)}`, 'OPENAI_API_KEY={}'],
  ['openai_api_key', `sk-${token(20)}T3BlbkFJ${token(20)}`, 'legacy {}'],
  ['jwt', `${JWT_HEADER}.${JWT_PAYLOAD}.${JWT_SIGNATURE}`, 'Authorization: Bearer {}'],
  ['connection_string_password', 'S3cr3t-pass', 'DATABASE_URL=postgres://app:{}@db.internal:5432/prod'],
  ['connection_string_password', 'hunter2x', 'mongodb+srv://admin:{}@cluster0.example.net/test'],
  ['secret_assignment', 'Tr0ub4dor', 'login with password={}&user=bob'],
  ['secret_assignment', 'q8Zr2LmX9vTn4KpW', 'api_key: "{}"'],
  ['secret_assignment', 'c2VjcmV0LXRva2VuLXZhbHVl', 'DB_AUTH_TOKEN={}'],
  ['email', 'jane.doe@example.com', 'write to {}.'],
  ['email', 'ops+alerts@mail.corp.example.co.uk', '<{}>'],
  ['payment_card', '4111 1111 1111 1111', 'card {} exp 12/29'],
  ['payment_card', '4111-1111-1111-1111', 'card {}'],
  ['payment_card', '378282246310005', 'amex {}'],
  ['payment_card', '5555555555554444', 'mc:{}'],
  ['iban', 'DE89 3704 0044 0532 0130 00', 'pay to {} today'],
  ['iban', 'GB82WEST12345698765432', 'IBAN {}'],
  ['iban', 'NO9386011117947', 'Norway {}'],
  ['us_ssn', '123-45-6789', 'SSN {} on file'],
  ['us_ssn', '536 22 1234', 'ssn: {}'],
  ['phone', '+14155552671', 'call {}'],
  ['phone', '+44 20 7946 0958', 'London office {}'],
  ['phone', '(415) 555-2671', 'desk {}'],
  ['phone', '415-555-2671', 'mobile {}'],
  ['ipv4', '192.168.1.20', 'host {} is down'],
  ['ipv4', '8.8.8.8', 'dns {}.'],
  ['ipv6', '2001:db8:85a3::8a2e:370:7334', 'from {} at noon'],
  ['ipv6', '2001:0db8:85a3:0000:0000:8a2e:0370:7334', '[{}]:443'],
];

/** [detector, text that must not yield a finding of that detector] */
const NEAR_MISSES: readonly [string, string][] = [
  [
    'private_key',
    '-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----',
  ],
  ['private_key', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----'],
  ['aws_access_key', 'AKIAIOSFODNN7EXAMPL is truncated'],
  ['aws_access_key', 'AKIAIOSFODNN1EXAMPLE has a digit outside base32'],
  ['aws_access_key', 'XAKIAIOSFODNN7EXAMPLE is part of a longer word'],
  ['aws_secret_key', 'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE'],
  ['gcp_api_key', `AIza${token(34, B64URL)} is one short`],
  ['azure_storage_key', `AccountKey=${token(80, B64)}==`],
  ['azure_client_secret', `abc8Q-${token(34, B64URL)}`],
  ['github_token', `ghp_${token(35)} is one short`],
  ['github_token', `ghx_${token(36)} has an unknown prefix`],
  ['gitlab_token', 'glpat-tooshort'],
  ['slack_token', 'xoxb-short'],
  ['slack_token', 'xoxz-123456789012-1234567890123-AbCdEfGhIjKl'],
  ['slack_webhook', 'https://hooks.slack.com/services/'],
  ['stripe_key', `pk_live_${token(24)} is a publishable key`],
  ['stripe_key', 'sk_live_short'],
  ['anthropic_api_key', 'sk-ant-api03-short'],
  ['openai_api_key', `sk-${token(30)} has no OpenAI marker`],
  ['jwt', `eyJmb28iOiJiYXIifQ.${JWT_PAYLOAD}.${JWT_SIGNATURE} (header has no alg)`],
  ['jwt', `eyJ!!!.${JWT_PAYLOAD}.sig`],
  ['connection_string_password', `postgres://app:${'$'}{DB_PASSWORD}@db.internal/prod`],
  ['connection_string_password', 'postgres://db.internal:5432/prod'],
  ['connection_string_password', 'https://user:pass@example.com is not a database URL'],
  ['secret_assignment', 'password=********'],
  ['secret_assignment', `api_key: "${'$'}{API_KEY}"`],
  ['secret_assignment', 'token: 12345'],
  ['secret_assignment', 'password: required'],
  ['secret_assignment', 'access_token = aaaaaaaaaaaaaaaaaaaa'],
  ['secret_assignment', 'the password is hunter2 (no assignment)'],
  ['secret_assignment', 'credentials: AWS_ACCESS_KEY_ID=[REDACTED:aws_access_key] (already redacted)'],
  ['email', 'jane.doe@localhost'],
  ['email', 'mail @example.com'],
  ['payment_card', '4111 1111 1111 1112 has a bad Luhn digit'],
  ['payment_card', '1234567812345670 passes Luhn but has no issuer'],
  ['payment_card', '41111111111111112024 is twenty digits'],
  ['payment_card', '4111 1111 111'],
  ['iban', 'DE89 3704 0044 0532 0130 01 has a bad checksum'],
  ['iban', 'GB82WEST1234569876543 is one short'],
  ['iban', 'ZZ89370400440532013000 has no such country'],
  ['us_ssn', '666-12-3456'],
  ['us_ssn', '000-12-3456'],
  ['us_ssn', '123-00-4567'],
  ['us_ssn', '123-45-0000'],
  ['us_ssn', '912-34-5678'],
  ['us_ssn', '078-05-1120'],
  ['us_ssn', '123-45 6789 mixes separators'],
  ['phone', 'released 2024-01-15'],
  ['phone', 'version 1.2.3'],
  ['phone', 'ext 123-456'],
  ['phone', '+12345 is too short'],
  ['ipv4', '256.1.1.1'],
  ['ipv4', 'version 1.2.3.4.5'],
  ['ipv6', 'at 12:30:45'],
  ['ipv6', 'mac 00:1A:2B:3C:4D:5E'],
  ['ipv6', 'a::b::c'],
  ['ipv6', 'std::vector'],
];

const all = new Scanner();

describe('detectors', () => {
  it('covers every detector with true positives and near misses', () => {
    expect(new Set(TRUE_POSITIVES.map(([id]) => id))).toEqual(new Set(DETECTOR_IDS));
    expect(new Set(NEAR_MISSES.map(([id]) => id))).toEqual(new Set(DETECTOR_IDS));
  });

  it.each(TRUE_POSITIVES)('%s finds %j', (id, value, around) => {
    const text = around.replace('{}', value);
    const findings = all.scan(text);
    const start = text.indexOf(value);
    expect(findings).toContainEqual(
      expect.objectContaining({ detector: id, start, end: start + value.length }),
    );
    // the detector alone finds it too (not only by overlap with another)
    expect(new Scanner([id]).scan(text).map((finding) => finding.detector)).toContain(id);
  });

  it.each(NEAR_MISSES)('%s ignores %j', (id, text) => {
    expect(new Scanner([id]).scan(text)).toEqual([]);
  });

  it('names an overlap by the most specific detector and keeps findings apart', () => {
    const key = `sk-ant-api03-${token(93, B64URL)}AA`;
    const text = `api_key=${key} and mail bob@example.com`;
    expect(all.scan(text).map((finding) => finding.detector)).toEqual(['anthropic_api_key', 'email']);
  });

  it('prefers a typed key to a context finding that would swallow it', () => {
    const text = 'credentials: AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE';
    expect(all.scan(text).map((finding) => finding.detector)).toEqual(['aws_access_key']);
  });

  it('finds neighbouring e-mail and IPv6 addresses (pivot scanning)', () => {
    const text = 'a@b.example,c.d@e.example.org; 2001:db8::8a2e:370:7334 fe80::1:2:3 x::';
    expect(all.scan(text).map((finding) => text.slice(finding.start, finding.end))).toEqual([
      'a@b.example',
      'c.d@e.example.org',
      '2001:db8::8a2e:370:7334',
      'fe80::1:2:3',
    ]);
    expect(new Scanner(['email']).scan(`${'a'.repeat(65)}@example.com`)).toEqual([]);
  });

  it('finds a card right after a rejected neighbour number', () => {
    const text = '12 4111 1111 1111 1111';
    expect(new Scanner(['payment_card']).scan(text)).toEqual([
      { detector: 'payment_card', class: 'pii', start: 3, end: text.length },
    ]);
  });

  it('refuses unknown detector ids', () => {
    expect(() => new Scanner(['aws_access_key', 'no_such_detector'])).toThrow(/no_such_detector/);
  });
});

describe('redactValue', () => {
  const redactAll = () => 'redact' as const;

  it('replaces findings inside nested objects, arrays and MCP content with typed placeholders', () => {
    const output = {
      content: [{ type: 'text', text: 'key AKIAIOSFODNN7EXAMPLE for jane@example.com' }],
      meta: { card: 4111111111111111, count: 3, ok: true, none: null },
    };
    const result = redactValue(output, all, redactAll);
    expect(result.value).toEqual({
      content: [{ type: 'text', text: 'key [REDACTED:aws_access_key] for [REDACTED:email]' }],
      meta: { card: '[REDACTED:payment_card]', count: 3, ok: true, none: null },
    });
    expect(result.findings).toEqual([
      { path: 'content[0].text', detector: 'aws_access_key', class: 'secret', action: 'redact' },
      { path: 'content[0].text', detector: 'email', class: 'pii', action: 'redact' },
      { path: 'meta.card', detector: 'payment_card', class: 'pii', action: 'redact' },
    ]);
    // the input is not modified
    expect(output.content[0]?.text).toContain('AKIA');
  });

  it('redacts a value by its key name, and returns the same object when nothing is found', () => {
    const args = { user: 'bob', password: 'hunter2x!' };
    expect(redactValue(args, all, redactAll).value).toEqual({
      user: 'bob',
      password: '[REDACTED:secret_assignment]',
    });
    const clean = { user: 'bob', note: 'nothing here' };
    expect(redactValue(clean, all, redactAll).value).toBe(clean);
  });

  it('leaves allowed findings in place and reports the others with their action', () => {
    const result = redactValue(
      { to: 'jane@example.com', body: 'key AKIAIOSFODNN7EXAMPLE' },
      all,
      (_id, cls) => (cls === 'pii' ? 'allow' : 'block'),
    );
    expect(result.value).toEqual({ to: 'jane@example.com', body: 'key [REDACTED:aws_access_key]' });
    expect(result.findings).toEqual([
      { path: 'body', detector: 'aws_access_key', class: 'secret', action: 'block' },
    ]);
  });

  it('refuses values nested deeper than the limit', () => {
    let deep: unknown = 'x';
    for (let level = 0; level < 200; level++) deep = [deep];
    expect(() => redactValue(deep, all, redactAll)).toThrow(/nested deeper/);
  });
});
