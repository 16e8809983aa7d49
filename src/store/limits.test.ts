// The one limit rule of every backend's reads (the conformance suites check that both backends apply it).
import { describe, expect, it } from 'vitest';
import { AUDIT_QUERY_LIMITS, effectiveLimit, LIST_LIMITS } from './limits.js';

describe('effectiveLimit', () => {
  it('uses the default when no limit, or NaN, is given', () => {
    expect(effectiveLimit(undefined, AUDIT_QUERY_LIMITS)).toBe(1_000);
    expect(effectiveLimit(Number.NaN, AUDIT_QUERY_LIMITS)).toBe(1_000);
    expect(effectiveLimit(undefined, LIST_LIMITS)).toBe(1_000);
  });

  it('gives the most allowed for Infinity or anything above it', () => {
    expect(effectiveLimit(Number.POSITIVE_INFINITY, AUDIT_QUERY_LIMITS)).toBe(10_000);
    expect(effectiveLimit(10_001, AUDIT_QUERY_LIMITS)).toBe(10_000);
    expect(effectiveLimit(Number.POSITIVE_INFINITY, LIST_LIMITS)).toBe(1_000);
    expect(effectiveLimit(5_000, LIST_LIMITS)).toBe(1_000);
  });

  it('is whole and at least 1: never unlimited, however negative', () => {
    for (const low of [0, -1, -0.5, 0.9, Number.NEGATIVE_INFINITY, Number.MIN_SAFE_INTEGER]) {
      expect(effectiveLimit(low, LIST_LIMITS)).toBe(1);
    }
    expect(effectiveLimit(2.9, AUDIT_QUERY_LIMITS)).toBe(2);
    expect(effectiveLimit(9_999.5, AUDIT_QUERY_LIMITS)).toBe(9_999);
  });
});
