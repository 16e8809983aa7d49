/**
 * @module api/signin-refusals.test
 * The budget of `signin.refused` records (a fake clock): a few per identity per window, a cap over all
 * identities, the left-out refusals counted and reported by the next record, and a bounded memory.
 */
import { describe, expect, it } from 'vitest';
import { RefusalBudget } from './signin-refusals.js';

function budget(limits: Partial<ConstructorParameters<typeof RefusalBudget>[1]> = {}) {
  let now = 0;
  const refusals = new RefusalBudget(() => now, {
    perIdentity: 3,
    overall: 10,
    windowMs: 60_000,
    maxTracked: 100,
    ...limits,
  });
  return { refusals, advance: (ms: number) => (now += ms) };
}

describe('the budget of recorded sign-in refusals', () => {
  it('records a few refusals of one identity per window, and reports the rest with the next record', () => {
    const { refusals, advance } = budget();
    const verdicts = Array.from({ length: 25 }, () => refusals.take('oidc:idp:bob'));
    expect(verdicts.filter((verdict) => verdict.record)).toHaveLength(3);
    advance(59_999);
    expect(refusals.take('oidc:idp:bob')).toEqual({ record: false });
    advance(1);
    expect(refusals.take('oidc:idp:bob')).toEqual({ record: true, unrecorded: 23 });
    expect(refusals.take('oidc:idp:bob')).toEqual({ record: true, unrecorded: 0 });
  });

  it('caps the records of all identities together, so many accounts cannot flood the log', () => {
    const { refusals } = budget();
    const recorded = Array.from({ length: 50 }, (_, index) => refusals.take(`oidc:idp:user-${index}`)).filter(
      (verdict) => verdict.record,
    );
    expect(recorded).toHaveLength(10);
  });

  it('keeps counts for a bounded number of identities, forgetting the least recently refused', () => {
    const { refusals } = budget({ maxTracked: 2, overall: 1000 });
    for (let attempt = 0; attempt < 3; attempt++) refusals.take('a');
    expect(refusals.take('a')).toEqual({ record: false });
    refusals.take('b');
    refusals.take('c'); // `a` is forgotten: a fresh window
    expect(refusals.take('a')).toEqual({ record: true, unrecorded: 0 });
  });
});
