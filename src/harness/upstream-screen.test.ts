/**
 * @module harness/upstream-screen.test
 * The screen for upstream text on its own: redaction, blocking, and failing closed when the policy
 * cannot screen (a fake policy that throws; everything else uses a real compiled one).
 */
import { describe, expect, it } from 'vitest';
import { policyFrom } from '../../test/support/policy-fixtures.js';
import type { RedactionPolicy } from '../policy/redaction-policy.js';
import { screenUpstreamText, screenUpstreamValue, upstreamTextScreen } from './upstream-screen.js';

const KEY = 'AKIAIOSFODNN7EXAMPLE';
const POLICY = policyFrom(`
rules:
  - { id: all, effect: allow, reason: all }
redaction:
  outputs: { secret: redact, iban: block }
  tools:
    - tool: { server: vault }
      outputs: { secret: block }
`);
const tool = { server: 'crm', name: 'lookup' };
const broken = {
  redactOutput: () => {
    throw new RangeError('detector crashed');
  },
} as unknown as RedactionPolicy;

describe('screening what an upstream sends', () => {
  it('redacts secrets in any value, and withholds one the policy blocks, naming kind and place', () => {
    expect(screenUpstreamValue(POLICY.redaction, tool, undefined, { d: `key ${KEY}` }, 'it')).toEqual({
      ok: true,
      value: { d: 'key [REDACTED:aws_access_key]' },
    });
    expect(
      screenUpstreamValue(POLICY.redaction, { server: 'vault', name: 'x' }, undefined, KEY, 'it'),
    ).toEqual({
      ok: false,
      reason: 'it contains aws_access_key at `(value)`, which the redaction policy blocks',
    });
  });

  it('withholds what it cannot screen, without the text', () => {
    const screened = screenUpstreamValue(broken, tool, undefined, KEY, 'the result');
    expect(screened).toEqual({
      ok: false,
      reason: 'the result could not be screened for secrets (detector crashed)',
    });
    expect(screenUpstreamText(broken, tool, undefined, KEY)).not.toContain(KEY);
  });

  it('puts placeholders in log text, also for kinds the policy blocks, with the server changes', () => {
    const screen = upstreamTextScreen({ current: POLICY }, 'vault');
    expect(screen(`login failed for ${KEY}, account DE89 3704 0044 0532 0130 00`)).toBe(
      'login failed for [REDACTED:aws_access_key], account [REDACTED:iban]',
    );
  });

  it('passes everything on without a redaction section', () => {
    const plain = policyFrom('rules:\n  - { id: all, effect: allow, reason: all }');
    expect(upstreamTextScreen({ current: plain }, 'crm')(KEY)).toBe(KEY);
  });
});
