/**
 * @module spec/oidc-config
 * `control.oidc` of `reins.yaml`: human sign-in to the console through an OpenID Connect provider
 * (authorization code flow with PKCE), next to the local API tokens. Strict like the rest of the
 * configuration: a typo, an inline secret or a role mapping that grants nothing stops the start with
 * a message. The client secret is named (a file or an environment variable), never written here, so
 * that it stays out of the file, its reviews and the logs.
 */
import { z } from 'zod';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** `https:` URLs; `http:` only on the loopback (a provider or a console on the same machine, tests). */
const SecureUrlSchema = z.url().refine(
  (text) => {
    const url = new URL(text);
    return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname));
  },
  { message: 'use an `https:` URL (`http:` only on 127.0.0.1 or localhost)' },
);

/** Where the client secret comes from: a file (relative to reins.yaml) or an environment variable. */
export const OidcClientSecretSchema = z.union([
  z.strictObject({ file: z.string().min(1) }),
  z.strictObject({
    env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name (A-Z, 0-9, _)'),
  }),
]);

/** The same shape as a stored user's role (store/user-store). */
const ReinsRoleSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,63}$/, 'roles are lowercase letters, digits, `_` and `-` (at most 64)');

export const OidcConfigSchema = z.strictObject({
  /** The provider's issuer identifier; its metadata is discovered from `/.well-known/openid-configuration`. */
  issuer: SecureUrlSchema,
  clientId: z.string().min(1),
  /** Absent for a public client (PKCE alone). Never inline: `{ file }` or `{ env }`. */
  clientSecret: OidcClientSecretSchema.optional(),
  /** This console's callback, `https://<console>/v1/auth/oidc/callback`, as registered at the provider. */
  redirectUri: SecureUrlSchema,
  scopes: z
    .array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'a scope is one word'))
    .refine((scopes) => scopes.includes('openid'), { message: 'the scopes must include `openid`' })
    .default(['openid', 'email', 'profile']),
  /** On the console's button: "Sign in with <displayName>". Default: the issuer's host. */
  displayName: z.string().min(1).max(64).optional(),
  /** The ID token claim holding the user's groups or roles (a list or one string); `a.b` reads a nested claim. */
  rolesClaim: z.string().min(1).default('groups'),
  /** Group (a value of `rolesClaim`) -> the Reins roles it grants. A user none of whose groups is here is refused. */
  roles: z
    .record(z.string().min(1), z.array(ReinsRoleSchema).min(1, 'map a group to at least one role'))
    .refine((roles) => Object.keys(roles).length > 0, { message: 'map at least one group to a role' }),
  /**
   * Who the user is in Reins' records. `sub` (default): `oidc:<issuer host and path>:<sub>`, stable
   * and never reassigned. `email`: the verified email, the same id as a local user or agent owner of
   * that address (separation of duties sees one person).
   */
  userId: z.enum(['sub', 'email']).default('sub'),
  /** Refuse a sign-in unless the ID token says a second factor was used (`amr` has `mfa`, or `acr` is one of `mfaAcrValues`). */
  requireMfa: z.boolean().default(false),
  /** `acr` values that count as multi-factor (provider specific, e.g. `urn:example:loa:3`). */
  mfaAcrValues: z.array(z.string().min(1)).default([]),
});
export type OidcConfig = z.infer<typeof OidcConfigSchema>;
