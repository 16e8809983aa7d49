/**
 * @module policy/reversal-functions.test
 * The helper functions reversal expressions call, and the conversion of CEL values to the JSON a
 * compensation step is called with.
 */
import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { base64Utf8, basename, dirname, isBase64Utf8, toJson } from './reversal-functions.js';

const base64 = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64');

describe('dirname and basename', () => {
  const paths = [
    '/srv/data/notes.txt',
    'notes.txt',
    'sub/notes.txt',
    './notes.txt',
    '/notes.txt',
    '/',
    '',
    'sub/dir/',
    '/srv//data//x',
    'a',
    '.',
    '..',
    '/srv/data/',
    '//',
  ];

  it.each(paths)('agree with POSIX path.dirname and path.basename for %j', (path) => {
    expect(dirname(path)).toBe(posix.dirname(path));
    expect(basename(path)).toBe(posix.basename(path));
  });
});

describe('base64Utf8 and isBase64Utf8', () => {
  it('decode UTF-8 text exactly, byte order mark and line endings included', () => {
    const text = '\uFEFFgrüße\r\n✓ 🎉\n';
    expect(base64Utf8(base64(text))).toBe(text);
    expect(isBase64Utf8(base64(text))).toBe(true);
    expect(base64Utf8('')).toBe('');
  });

  it('refuse bytes that are not UTF-8, with a message that says why', () => {
    const png = base64(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff]));
    expect(isBase64Utf8(png)).toBe(false);
    expect(() => base64Utf8(png)).toThrow(/not valid UTF-8/);
  });

  it('refuse text that is not base64', () => {
    for (const bad of ['not base64!', 'abc', 'ab=c', '====']) {
      expect(isBase64Utf8(bad)).toBe(false);
      expect(() => base64Utf8(bad)).toThrow(/not base64/);
    }
  });
});

describe('toJson', () => {
  it('turns CEL ints into numbers and keeps the rest of JSON as it is', () => {
    expect(toJson({ a: 1n, b: [2n, 2.5, 'x', true, null], c: { d: -3n } })).toEqual({
      ok: true,
      value: { a: 1, b: [2, 2.5, 'x', true, null], c: { d: -3 } },
    });
  });

  it('turns CEL maps (Map instances) into objects and timestamps into ISO text', () => {
    const map = new Map<string, unknown>([['decisionId', 'd-1']]);
    expect(toJson(map)).toEqual({ ok: true, value: { decisionId: 'd-1' } });
    expect(toJson(new Date('2026-01-01T00:00:00Z'))).toEqual({ ok: true, value: '2026-01-01T00:00:00.000Z' });
  });

  it('refuses what JSON cannot hold, saying where', () => {
    expect(toJson({ big: 2n ** 60n })).toEqual({
      ok: false,
      error: expect.stringMatching(/`big`: .*too large/),
    });
    expect(toJson([new Uint8Array([1])])).toEqual({
      ok: false,
      error: expect.stringMatching(/`\[0\]`: bytes/),
    });
    expect(toJson(Number.NaN)).toEqual({ ok: false, error: expect.stringMatching(/not a finite number/) });
  });
});
