/**
 * @module policy/glob.test
 * Name patterns: `*` any run, `?` one character, the rest literal; no pathological slowdowns.
 */
import { describe, expect, it } from 'vitest';
import { compileGlob, compileGlobList } from './glob.js';

describe('compileGlob', () => {
  it('matches literally without wildcards and exposes the literal for indexing', () => {
    const matcher = compileGlob('db.select');
    expect(matcher.exact).toBe('db.select');
    expect(matcher.matches('db.select')).toBe(true);
    expect(matcher.matches('dbxselect')).toBe(false);
  });

  it('treats * as any run (dots and slashes included) and ? as one character', () => {
    expect(compileGlob('db.*').matches('db.select')).toBe(true);
    expect(compileGlob('db.*').matches('db.')).toBe(true);
    expect(compileGlob('db.*').matches('dbx')).toBe(false);
    expect(compileGlob('*/read_*').matches('fs/nested/read_file')).toBe(true);
    expect(compileGlob('tool-?').matches('tool-1')).toBe(true);
    expect(compileGlob('tool-?').matches('tool-12')).toBe(false);
    expect(compileGlob('a*b*c').matches('aXXbYYc')).toBe(true);
    expect(compileGlob('a*b*c').matches('aXXbYY')).toBe(false);
    expect(compileGlob('[x]').matches('[x]')).toBe(true);
    expect(compileGlob('*').exact).toBeUndefined();
  });

  it('stays fast on adversarial names (no exponential backtracking)', () => {
    // the per-test timeout is the only clock: O(pattern x name) takes microseconds here, exponential
    // matching would not finish (vitest fails a synchronous test that overran its timeout, too)
    const matcher = compileGlob(`${'*a'.repeat(20)}b`);
    expect(matcher.matches('a'.repeat(5_000))).toBe(false);
    expect(matcher.matches(`${'a'.repeat(5_000)}b`)).toBe(true);
  });

  it('combines lists with "any of"', () => {
    const list = compileGlobList(['a', 'b*']);
    expect(list?.matches('bee')).toBe(true);
    expect(list?.matches('c')).toBe(false);
    expect(compileGlobList(undefined)).toBeUndefined();
  });
});
