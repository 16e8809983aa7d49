/**
 * @module api/oidc-sign-in
 * Human sign-in through an OpenID Connect provider (decision 0023): the authorization code flow with
 * PKCE (S256), state and nonce, through `openid-client`, which checks the ID token (signature, issuer,
 * audience, expiry, nonce). This file adds what is Reins': who the signed-in human is in the records,
 * which roles their groups grant, whether the login used a second factor, and the sealed cookie that
 * carries the transaction (code verifier, state, nonce) from the redirect to the callback. The cookie
 * is encrypted with a key derived from the client secret, so any replica with the same configuration
 * can finish a sign-in another one began.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type * as OpenIdClient from 'openid-client';

type Client = typeof OpenIdClient;
let loadedClient: Promise<Client> | undefined;
/**
 * openid-client, loaded the first time a deployment with OIDC needs it: every `reins` command loads
 * this module, and most never sign anyone in.
 */
function openIdClient(): Promise<Client> {
  loadedClient ??= import('openid-client');
  return loadedClient;
}

import { z } from 'zod';
import { canonicalIdentity, identityProblem } from '../spec/human-identity.js';
import type { OidcConfig } from '../spec/oidc-config.js';
import { ApiError } from './api-errors.js';

/** `control.oidc` with the client secret read from where the configuration names it. */
export type OidcSettings = Omit<OidcConfig, 'clientSecret'> & { readonly clientSecret?: string };

/** Who signed in, as Reins records them, or why they may not. */
export type Admission =
  | {
      readonly ok: true;
      readonly user: { readonly id: string; readonly roles: string[]; readonly aliases?: string[] };
      readonly groups: string[];
    }
  | { readonly ok: false; readonly id?: string; readonly reason: string };

type Claims = Record<string, unknown>;

/** The parts of the configuration that decide who may sign in and as what. */
type AdmissionRules = Pick<
  OidcConfig,
  'issuer' | 'userId' | 'requireMfa' | 'mfaAcrValues' | 'rolesClaim' | 'roles'
>;

/** The user id, roles and MFA check for the claims of a verified ID token. */
export function admitOidcUser(claims: Claims, config: AdmissionRules): Admission {
  const identified = userIdOf(claims, config);
  if ('reason' in identified) return { ok: false, reason: identified.reason };
  const { id } = identified;
  if (config.requireMfa && !usedSecondFactor(claims, config)) {
    return {
      ok: false,
      id,
      reason: `Reins requires multi-factor authentication, and the provider's ID token does not say a second factor was used (amr: ${quoted(claims.amr ?? [])}, acr: ${quoted(claims.acr ?? null)})`,
    };
  }
  const held = groupsIn(claims, config.rolesClaim);
  const groups = held.filter((group) => Object.hasOwn(config.roles, group));
  const roles = [...new Set(groups.flatMap((group) => config.roles[group] ?? []))];
  if (roles.length === 0) {
    return {
      ok: false,
      id,
      reason: `no Reins role is mapped to the groups in the \`${config.rolesClaim}\` claim (${held.length ? groupList(held) : 'none'})`,
    };
  }
  const alias = verifiedEmailAlias(claims, id);
  return { ok: true, user: { id, roles, ...(alias ? { aliases: [alias] } : {}) }, groups };
}

/**
 * The provider-verified email of a person named by `sub`, as a second identity: the same human may
 * hold a local user (or own agents) under that address, and separation of duties must see one person
 * (one vote per human, the owner recognised). Only a verified, well-formed email different from the id.
 */
function verifiedEmailAlias(claims: Claims, id: string): string | undefined {
  const email = claims.email;
  if (typeof email !== 'string' || claims.email_verified !== true) return undefined;
  if (identityProblem(email) !== undefined) return undefined;
  const alias = canonicalIdentity(email);
  return alias === id ? undefined : alias;
}

/** Groups quoted in a refusal (recorded in the audit log): claims can be of any size, quotes are not. */
const QUOTED_GROUPS = 20;
const QUOTED_CHARS = 64;

function groupList(groups: readonly string[]): string {
  const shown = groups.slice(0, QUOTED_GROUPS).map((group) => clip(group, QUOTED_CHARS));
  const more = groups.length - shown.length;
  return more > 0 ? `${shown.join(', ')} and ${more} more` : shown.join(', ');
}

function quoted(value: unknown): string {
  return clip(JSON.stringify(value) ?? String(value), 200);
}

function clip(text: string, most: number): string {
  return text.length > most ? `${text.slice(0, most - 1)}…` : text;
}

function userIdOf(claims: Claims, config: AdmissionRules): { id: string } | { reason: string } {
  if (config.userId === 'email') {
    const email = claims.email;
    if (typeof email !== 'string' || claims.email_verified !== true) {
      return { reason: 'Reins names this user by their verified email, and the ID token has none' };
    }
    const problem = identityProblem(email);
    return problem
      ? { reason: `the email is not a usable identity: ${problem}` }
      : { id: canonicalIdentity(email) };
  }
  const sub = claims.sub;
  if (typeof sub !== 'string' || sub === '') return { reason: 'the ID token has no subject' };
  const id = `oidc:${issuerLabel(config.issuer)}:${sub}`;
  const problem = identityProblem(id);
  return problem ? { reason: `the subject is not a usable identity: ${problem}` } : { id };
}

/** `https://login.example.com/realms/ops/` -> `login.example.com/realms/ops` (host, port and path). */
export function issuerLabel(issuer: string): string {
  const url = new URL(issuer);
  return `${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

function usedSecondFactor(claims: Claims, config: AdmissionRules): boolean {
  const amr = Array.isArray(claims.amr) ? claims.amr : [];
  return amr.includes('mfa') || (typeof claims.acr === 'string' && config.mfaAcrValues.includes(claims.acr));
}

/** The strings of the claim (exact name first, so `https://x/groups` works; then `a.b` as a path). */
function groupsIn(claims: Claims, claim: string): string[] {
  let value: unknown = claims[claim];
  if (value === undefined && claim.includes('.')) {
    value = claim.split('.').reduce<unknown>((at, key) => (isObject(at) ? at[key] : undefined), claims);
  }
  const values = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [];
  return values.filter((each): each is string => typeof each === 'string');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------- the transaction between redirect and callback ----------

/** What the callback needs to check the answer: the PKCE verifier, state, nonce. */
export interface OidcTransaction {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  /** The console page to return to. */
  readonly returnTo: string;
}

const TransactionSchema = z.strictObject({
  state: z.string(),
  nonce: z.string(),
  codeVerifier: z.string(),
  returnTo: z.string(),
  expiresAtMs: z.number(),
});

/** A sign-in must come back from the provider within this time. */
export const TRANSACTION_TTL_MS = 10 * 60_000;

/**
 * The key sealing transaction cookies: derived from the client secret (every replica configured
 * alike derives the same one), or random for a public client (the callback must then reach the
 * control plane that began the sign-in).
 */
export function transactionKey(clientSecret: string | undefined): Buffer {
  if (clientSecret === undefined) return randomBytes(32);
  return Buffer.from(hkdfSync('sha256', clientSecret, 'reins/oidc-transaction', 'v1', 32));
}

/** AES-256-GCM: the cookie's content can be neither read nor changed without the key. */
export function sealTransaction(key: Buffer, transaction: OidcTransaction, nowMs: number): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const plain = JSON.stringify({ ...transaction, expiresAtMs: nowMs + TRANSACTION_TTL_MS });
  const sealed = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url');
}

/** The transaction, or undefined for a cookie that is forged, changed, sealed by another key or expired. */
export function openTransaction(key: Buffer, cookie: string, nowMs: number): OidcTransaction | undefined {
  try {
    const bytes = Buffer.from(cookie, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12));
    decipher.setAuthTag(bytes.subarray(12, 28));
    const plain = Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
    const { expiresAtMs, ...transaction } = TransactionSchema.parse(JSON.parse(plain));
    return expiresAtMs > nowMs ? transaction : undefined;
  } catch {
    return undefined;
  }
}

// ---------- the provider ----------

/** The verified outcome of a callback. */
export interface OidcCallback {
  readonly claims: Claims;
  /** When the ID token expires: the console session ends then at the latest. */
  readonly expiresAtMs: number;
  /** The ID token itself, as `id_token_hint` when signing out at the provider. */
  readonly idToken?: string;
}

/** The relying party: discovers the provider once (again after a failure), begins and finishes sign-ins. */
export class OidcSignIn {
  readonly key: Buffer;
  private discovered: Promise<OpenIdClient.Configuration> | undefined;

  constructor(readonly settings: OidcSettings) {
    this.key = transactionKey(settings.clientSecret);
  }

  get displayName(): string {
    return this.settings.displayName ?? new URL(this.settings.issuer).host;
  }

  /** The provider's authorization URL, and the sealed transaction to keep in the browser meanwhile. */
  async begin(returnTo: string, nowMs: number): Promise<{ url: string; cookie: string }> {
    const configuration = await this.configuration();
    const client = await openIdClient();
    const transaction: OidcTransaction = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      codeVerifier: client.randomPKCECodeVerifier(),
      returnTo,
    };
    const url = client.buildAuthorizationUrl(configuration, {
      redirect_uri: this.settings.redirectUri,
      scope: this.settings.scopes.join(' '),
      code_challenge: await client.calculatePKCECodeChallenge(transaction.codeVerifier),
      code_challenge_method: 'S256',
      state: transaction.state,
      nonce: transaction.nonce,
    });
    return { url: url.href, cookie: sealTransaction(this.key, transaction, nowMs) };
  }

  /**
   * Exchanges the code (with the verifier) and checks the answer: state, nonce, the ID token's
   * signature, issuer, audience and expiry. Any failure is a 401 saying what failed; the provider
   * out of reach is a 503.
   */
  async finish(query: URLSearchParams, transaction: OidcTransaction): Promise<OidcCallback> {
    const configuration = await this.configuration();
    // the redirect URI as registered, not as this process sees the request behind a proxy
    const current = new URL(this.settings.redirectUri);
    current.search = query.toString();
    const client = await openIdClient();
    try {
      const tokens = await client.authorizationCodeGrant(configuration, current, {
        pkceCodeVerifier: transaction.codeVerifier,
        expectedState: transaction.state,
        expectedNonce: transaction.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      if (claims === undefined) throw new ApiError('unauthenticated', 'sign-in failed: no ID token');
      const idToken = tokens.id_token;
      return { claims: { ...claims }, expiresAtMs: claims.exp * 1000, ...(idToken ? { idToken } : {}) };
    } catch (error) {
      throw signInFailure(client, error);
    }
  }

  /**
   * Where to send the browser to end the provider's session too (RP-initiated logout), coming back
   * to the console; undefined when the provider offers no `end_session_endpoint` or cannot be reached.
   */
  async endSessionUrl(idToken: string | undefined): Promise<string | undefined> {
    const configuration = await this.configuration().catch(() => undefined);
    if (configuration?.serverMetadata().end_session_endpoint === undefined) return undefined;
    const client = await openIdClient();
    const url = client.buildEndSessionUrl(configuration, {
      post_logout_redirect_uri: new URL('/', this.settings.redirectUri).href,
      client_id: this.settings.clientId,
      ...(idToken ? { id_token_hint: idToken } : {}),
    });
    return url.href;
  }

  private configuration(): Promise<OpenIdClient.Configuration> {
    if (this.discovered === undefined) {
      const { issuer, clientId, clientSecret } = this.settings;
      const insecure = new URL(issuer).protocol === 'http:'; // the schema allows it on the loopback only
      this.discovered = openIdClient()
        .then((client) =>
          client.discovery(
            new URL(issuer),
            clientId,
            clientSecret === undefined ? undefined : { client_secret: clientSecret },
            clientSecret === undefined ? client.None() : client.ClientSecretBasic(clientSecret),
            insecure ? { execute: [client.allowInsecureRequests] } : undefined,
          ),
        )
        .catch((error: unknown) => {
          this.discovered = undefined; // try again on the next sign-in
          throw new ApiError(
            'unavailable',
            `the identity provider cannot be reached: ${error instanceof Error ? error.message : String(error)}`,
          );
        });
    }
    return this.discovered;
  }
}

/** What went wrong in a callback, for the person signing in (never a session). */
function signInFailure(client: Client, error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof client.AuthorizationResponseError) {
    return new ApiError('unauthenticated', `the identity provider refused the sign-in: ${error.error}`);
  }
  if (error instanceof client.ResponseBodyError) {
    return new ApiError('unauthenticated', `the identity provider refused the code: ${error.error}`);
  }
  if (error instanceof TypeError && /fetch failed/.test(error.message)) {
    return new ApiError('unavailable', 'the identity provider cannot be reached');
  }
  // openid-client says what kind of check failed; its cause (oauth4webapi) says which
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return new ApiError('unauthenticated', `sign-in failed: ${message}${cause}`);
}
