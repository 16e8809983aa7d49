/**
 * @module spec/human-identity
 * One canonical form for the identities that separation of duties compares (agent owners, approvers,
 * operators, console users): NFKC (fullwidth and compatibility look-alikes fold to ASCII), then lower
 * case. Identities holding whitespace, control or invisible (format) characters are refused rather
 * than cleaned, so that `olivia@example.com\u200b` can never pass as a second person.
 */
import { z } from 'zod';

/** Whitespace, controls, format characters (zero-width, bidi overrides, soft hyphen), separators. */
const FORBIDDEN = /[\s\p{Cc}\p{Cf}\p{Z}\p{Co}\p{Cn}]/u;

/** Why `raw` is not an identity, or undefined when it is one. */
export function identityProblem(raw: string): string | undefined {
  if (raw.length === 0) return 'an identity may not be empty';
  if (raw.length > 256) return 'an identity has at most 256 characters';
  if (FORBIDDEN.test(raw)) return 'identities may not hold whitespace, control or invisible characters';
  return undefined;
}

/** The canonical form; throws on an identity `identityProblem` refuses. */
export function canonicalIdentity(raw: string): string {
  const problem = identityProblem(raw);
  if (problem !== undefined) throw new Error(`invalid identity \`${JSON.stringify(raw)}\`: ${problem}`);
  return raw.normalize('NFKC').toLowerCase().normalize('NFKC');
}

/** Do two identities name the same human? False when either is not a valid identity. */
export function sameIdentity(a: string, b: string): boolean {
  if (identityProblem(a) !== undefined || identityProblem(b) !== undefined) return false;
  return canonicalIdentity(a) === canonicalIdentity(b);
}

/** An identity as records carry it: validated, stored and compared in canonical form. */
export const IdentitySchema = z.string().transform((raw, context) => {
  const problem = identityProblem(raw);
  if (problem === undefined) return canonicalIdentity(raw);
  context.addIssue({ code: 'custom', message: `invalid identity: ${problem}` });
  return z.NEVER;
});
