/**
 * @module auth/bearer-token.test
 * Which `Authorization` headers carry a bearer token: the one reading the gateway and the control API
 * share, so a header one of them accepts the other accepts too, and a malformed one both refuse.
 */
import { describe, expect, it } from 'vitest';
import { bearerToken } from './bearer-token.js';

describe('bearerToken', () => {
  it('takes the scheme in any case (RFC 9110 §11.1: it is case-insensitive) and hands on the token alone', () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR'])
      expect(bearerToken(`${scheme} reins_u_abc-_=`)).toBe('reins_u_abc-_=');
  });

  it('takes any run of spaces between the scheme and the token (1*SP)', () => {
    expect(bearerToken('Bearer   abc.def.ghi')).toBe('abc.def.ghi');
  });

  it('refuses no header, another scheme, no token, and a token with whitespace inside', () => {
    const malformed = [
      undefined,
      '',
      'Basic dXNlcjpwYXNz',
      'abc.def', // a token without its scheme
      'Bearer',
      'Bearer ',
      'Bearer    ',
      'Bearer\tabc', // the scheme ends with a space, nothing else
      'Bearerabc',
      'Bearer abc def',
      'Bearer abc\tdef',
      ' Bearer abc',
    ];
    for (const header of malformed) expect(bearerToken(header), String(header)).toBeUndefined();
  });
});
