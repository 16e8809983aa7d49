/**
 * @module identity/tokens
 * Issuing and verifying agent credentials (JWT, EdDSA, via jose). Verification accepts exactly one
 * algorithm (EdDSA), one issuer, one audience and one token type; every failure comes back as a
 * `CredentialError` with a stable code and a message that says what is wrong, never as a pass.
 */
import { randomUUID } from 'node:crypto';
import { errors, jwtVerify } from 'jose';
import {
  type ActorClaim,
  CREDENTIAL_TYPE,
  type CredentialClaims,
  CredentialClaimsSchema,
  type CredentialErrorCode,
  lineageProblem,
} from '../spec/credential-claims.js';
import { describeError } from '../spec/errors.js';
import { parseScopeClaim, parseScopes } from '../spec/scopes.js';
import { type KeyRing, MAX_TOKEN_LIFETIME_MS, type Signer } from './key-ring.js';

export const DEFAULT_ISSUER = 'reins';
export const DEFAULT_AUDIENCE = 'reins';
/** Credentials are short-lived by default: 15 minutes. */
export const DEFAULT_TOKEN_TTL_SECONDS = 15 * 60;
/** Clock skew tolerated between machines when checking exp and nbf. */
export const CLOCK_TOLERANCE_SECONDS = 5;
/**
 * The longest a credential may live (exp - iat). Revocations are forgotten after this (plus the clock
 * tolerance), so a credential living longer would become valid again: issuing refuses a longer ttl and
 * verification refuses any credential claiming a longer life, whoever signed it.
 */
export const MAX_TOKEN_LIFETIME_SECONDS = MAX_TOKEN_LIFETIME_MS / 1000;
/** How long a revocation is kept: every credential it can hit has expired by then, clock skew included. */
export const REVOCATION_RETENTION_MS = (MAX_TOKEN_LIFETIME_SECONDS + 60) * 1000;

export class CredentialError extends Error {
  constructor(
    readonly code: CredentialErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CredentialError';
  }
}

export interface TokenSettings {
  readonly issuer?: string;
  readonly audience?: string;
}

export interface IssueRequest {
  readonly agentId: string;
  readonly sessionId: string;
  readonly scopes: readonly string[];
  /** Seconds since the epoch. */
  readonly notBefore: number;
  readonly expiresAt: number;
  readonly depth?: number;
  readonly ancestors?: readonly string[];
  /** Sessions this one is delegated from, outermost first: one per hop (`depth`). */
  readonly parentSessions?: readonly string[];
  readonly actor?: ActorClaim;
  readonly task?: string;
}

export async function issueToken(
  ring: KeyRing,
  request: IssueRequest,
  settings: TokenSettings = {},
): Promise<{ token: string; claims: CredentialClaims }> {
  const claims: CredentialClaims = {
    iss: settings.issuer ?? DEFAULT_ISSUER,
    aud: settings.audience ?? DEFAULT_AUDIENCE,
    sub: request.agentId,
    sid: request.sessionId,
    scope: requestedScopes(request.scopes).join(' '),
    jti: randomUUID(),
    iat: request.notBefore,
    nbf: request.notBefore,
    exp: request.expiresAt,
    dpt: request.depth ?? 0,
    anc: [...(request.ancestors ?? [])],
    ...(request.actor ? { act: request.actor } : {}),
    ...(request.task ? { task: request.task } : {}),
    psn: [...(request.parentSessions ?? [])],
  };
  // never sign a lineage that verification would refuse
  const problem = lineageProblem(claims);
  if (problem !== undefined) throw new CredentialError('malformed', problem);
  return { token: await signCompact(ring.signer, claims), claims };
}

/**
 * A compact JWS (RFC 7515) signed by the signer, which may be a KMS that never hands out its key:
 * base64url(header) . base64url(payload) . base64url(Ed25519 signature over the first two).
 */
async function signCompact(signer: Signer, claims: CredentialClaims): Promise<string> {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode({ alg: 'EdDSA', kid: signer.keyId, typ: CREDENTIAL_TYPE })}.${encode(claims)}`;
  const signature = await signer.sign(Buffer.from(input));
  if (signature.length !== 64)
    throw new CredentialError(
      'unknown_key',
      `the signer returned ${signature.length} bytes, not an Ed25519 signature`,
    );
  return `${input}.${Buffer.from(signature).toString('base64url')}`;
}

/** Scopes asked for (issue, delegation): each one valid, else a `malformed` refusal naming it. */
export function requestedScopes(scopes: readonly string[]): string[] {
  try {
    return parseScopes(scopes);
  } catch (error) {
    throw new CredentialError('malformed', describeError(error));
  }
}

/** The scopes a verified credential carries; a claim that does not parse strictly is refused. */
export function claimedScopes(claims: Pick<CredentialClaims, 'scope'>): string[] {
  const scopes = parseScopeClaim(claims.scope);
  if (scopes === undefined)
    throw new CredentialError('malformed', 'the scope claim is not valid scopes separated by single spaces');
  return scopes;
}

/** Verifies signature, algorithm, type, issuer, audience and time; throws CredentialError. */
export async function verifyToken(
  ring: KeyRing,
  token: string,
  now: Date,
  settings: TokenSettings = {},
): Promise<CredentialClaims> {
  let payload: unknown;
  try {
    const verified = await jwtVerify(
      token,
      async (header) => {
        if (header.alg !== 'EdDSA') {
          throw new CredentialError(
            'algorithm_not_allowed',
            `algorithm \`${header.alg}\` is not accepted (only EdDSA)`,
          );
        }
        const key = header.kid === undefined ? undefined : ring.verificationKey(header.kid, now);
        if (key === undefined)
          throw new CredentialError(
            'unknown_key',
            `unknown or expired signing key \`${header.kid ?? '(none)'}\``,
          );
        return key;
      },
      {
        algorithms: ['EdDSA'],
        issuer: settings.issuer ?? DEFAULT_ISSUER,
        audience: settings.audience ?? DEFAULT_AUDIENCE,
        typ: CREDENTIAL_TYPE,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: now,
        requiredClaims: ['sub', 'jti', 'exp', 'nbf', 'iat', 'sid'],
      },
    );
    payload = verified.payload;
  } catch (error) {
    throw toCredentialError(error);
  }
  const claims = CredentialClaimsSchema.safeParse(payload);
  if (!claims.success)
    throw new CredentialError(
      'malformed',
      `credential claims are malformed: ${claims.error.issues[0]?.message ?? ''}`,
    );
  checkLifetime(claims.data, now);
  return claims.data;
}

/** A credential outliving the retention of revocations, or issued in the future, could not be revoked for good. */
function checkLifetime(claims: CredentialClaims, now: Date): void {
  if (claims.exp - claims.iat > MAX_TOKEN_LIFETIME_SECONDS)
    throw new CredentialError(
      'malformed',
      `the credential lives longer than ${MAX_TOKEN_LIFETIME_SECONDS / 3_600} h, longer than revocations are kept`,
    );
  if (claims.iat > now.getTime() / 1000 + CLOCK_TOLERANCE_SECONDS)
    throw new CredentialError('not_yet_valid', 'the credential was issued in the future (`iat`)');
}

function toCredentialError(error: unknown): CredentialError {
  if (error instanceof CredentialError) return error;
  if (error instanceof errors.JWTExpired) return new CredentialError('expired', 'the credential has expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss')
      return new CredentialError('wrong_issuer', 'the credential was issued by someone else (`iss`)');
    if (error.claim === 'aud')
      return new CredentialError('wrong_audience', 'the credential is meant for another audience (`aud`)');
    if (error.claim === 'nbf' || error.claim === 'iat')
      return new CredentialError('not_yet_valid', 'the credential is not valid yet');
    return new CredentialError(
      'malformed',
      `credential claim \`${error.claim}\` is invalid: ${error.reason}`,
    );
  }
  if (error instanceof errors.JOSEAlgNotAllowed)
    return new CredentialError(
      'algorithm_not_allowed',
      'the credential uses an algorithm that is not accepted (only EdDSA)',
    );
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return new CredentialError('bad_signature', 'the credential signature does not verify');
  return new CredentialError('malformed', `the credential is not a valid token: ${describeError(error)}`);
}
