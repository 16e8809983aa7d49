/**
 * @module spec/credential-claims
 * The agent credential: a short-lived JWT signed with EdDSA (Ed25519), header `typ: reins-agent+jwt`.
 *
 * - `sub`: the agent holding and presenting the token (the one that acts);
 * - `sid`: the session it is bound to; `scope`: space-separated `server/name` tool patterns;
 * - `act`: for delegated work, the agent that delegated the task to `sub`, with the agent before it
 *   nested inside, and so on (in the spirit of RFC 8693's actor claim): every hop is named;
 * - `dpt`: delegation depth (0 = the agent's own task); `anc`: token ids of every ancestor token, so
 *   revoking a parent revokes its descendants without a lookup; `task`: what the delegation was for;
 * - `psn`: the sessions the credential's session was delegated from, outermost first (one per hop, so
 *   exactly `dpt` of them, none of them `sid` and none twice): the delegated session inherits their
 *   data-flow labels and untrusted-value index. A delegated credential without it is refused: a child
 *   that could drop its lineage would leave the parent's untrusted data behind.
 */
import { z } from 'zod';
import { parseScopeClaim } from './scopes.js';

export const CREDENTIAL_TYPE = 'reins-agent+jwt';

export interface ActorClaim {
  readonly sub: string;
  readonly act?: ActorClaim | undefined;
}

export const ActorClaimSchema: z.ZodType<ActorClaim> = z.lazy(() =>
  z.strictObject({ sub: z.string().min(1), act: ActorClaimSchema.optional() }),
);

/** What is wrong with a credential's lineage (`psn` against `dpt` and `sid`), if anything: issuing and verifying apply this one rule. */
export function lineageProblem(claims: {
  readonly sid: string;
  readonly dpt: number;
  readonly psn: readonly string[];
}): string | undefined {
  if (claims.psn.length !== claims.dpt)
    return `the credential names ${claims.psn.length} parent session(s) (\`psn\`) for a delegation depth of ${claims.dpt}`;
  if (claims.psn.includes(claims.sid))
    return `session \`${claims.sid}\` cannot be one of the sessions it is delegated from`;
  if (new Set(claims.psn).size !== claims.psn.length)
    return 'a session appears twice in the sessions the credential is delegated from (`psn`)';
  // a delegated session is a new one inside the delegating session's: never another agent's session,
  // whose state (and trust) it would otherwise share
  for (let index = 1; index <= claims.psn.length; index++) {
    const inner = index === claims.psn.length ? claims.sid : (claims.psn[index] as string);
    const outer = claims.psn[index - 1] as string;
    if (!inner.startsWith(`${outer}/`) || inner.length === outer.length + 1)
      return `session \`${inner}\` is not inside the session it is delegated from (\`${outer}/…\`)`;
  }
  return undefined;
}

export const CredentialClaimsSchema = z
  .object({
    iss: z.string(),
    aud: z.union([z.string(), z.array(z.string())]),
    sub: z.string().min(1),
    sid: z.string().min(1),
    scope: z.string().refine((claim) => parseScopeClaim(claim) !== undefined, {
      message: 'the scope claim is not valid scopes separated by single spaces',
    }),
    jti: z.string().min(1),
    iat: z.number().int(),
    nbf: z.number().int(),
    exp: z.number().int(),
    dpt: z.number().int().min(0),
    anc: z.array(z.string()).default([]),
    act: ActorClaimSchema.optional(),
    task: z.string().optional(),
    psn: z.array(z.string().min(1)).default([]),
  })
  .superRefine((claims, context) => {
    const problem = lineageProblem(claims);
    if (problem !== undefined) context.addIssue({ code: 'custom', path: ['psn'], message: problem });
  });
export type CredentialClaims = z.infer<typeof CredentialClaimsSchema>;

/** Stable codes for every way a credential is refused. */
export type CredentialErrorCode =
  | 'malformed'
  | 'algorithm_not_allowed'
  | 'bad_signature'
  | 'unknown_key'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'expired'
  | 'not_yet_valid'
  | 'revoked'
  | 'agent_not_active'
  | 'unknown_agent'
  | 'scope_not_held'
  | 'outlives_parent'
  | 'depth_exceeded';

/** Agents named by the actor chain, nearest delegator first. */
export function delegatorsOf(claims: Pick<CredentialClaims, 'act'>): string[] {
  const chain: string[] = [];
  for (let actor = claims.act; actor !== undefined; actor = actor.act) chain.push(actor.sub);
  return chain;
}
