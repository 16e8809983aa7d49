/**
 * @module auth/bearer-token
 * The one reading of a bearer credential in an `Authorization` header, shared by every listener that
 * takes one (the gateway's, the control API's), so that a header one accepts the other accepts too and
 * a malformed one both refuse. It lives here rather than in gateway/ because both sit on auth/.
 */

/**
 * The token of an `Authorization: Bearer <token>` header; undefined for no header, another scheme, no
 * token, or a token with whitespace inside. The scheme in any case (RFC 9110 §11.1: schemes are
 * case-insensitive), then one or more spaces (RFC 9110 §11.4: `1*SP`).
 */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^bearer +(\S+) *$/i.exec(header ?? '');
  return match?.[1];
}
