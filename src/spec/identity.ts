/**
 * @module spec/identity
 * Agents as identities, and the records of the credential system: signing keys and revocations.
 * Stored by the identity store (SQLite / PostgreSQL); the token format itself is in credential-claims.ts.
 */
import { z } from 'zod';
import { IdentitySchema } from './human-identity.js';
import { RiskSchema } from './policy-document.js';
import { ScopeSchema } from './scopes.js';

export const AgentStateSchema = z.enum(['active', 'suspended', 'retired']);
export type AgentState = z.infer<typeof AgentStateSchema>;

export const AgentIdSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,127}$/,
    'agent ids are lowercase letters, digits, `.`, `_` and `-` (at most 128)',
  );

export const AgentRecordV1Schema = z.strictObject({
  v: z.literal(1),
  id: AgentIdSchema,
  /** The accountable human (e-mail or user id), in canonical form (spec/human-identity). */
  owner: IdentitySchema,
  description: z.string().default(''),
  /**
   * Mission scope: the tools it may act on, as `server/name` globs (`crm/db.select`, `crm/*`).
   * A credential never carries more than this; delegation only narrows it.
   */
  scopes: z.array(ScopeSchema).default([]),
  roles: z.array(z.string().min(1)).default([]),
  riskTier: RiskSchema.default('medium'),
  state: AgentStateSchema.default('active'),
  /** ISO 8601. */
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type AgentRecordV1 = z.infer<typeof AgentRecordV1Schema>;

export const RevocationKindSchema = z.enum(['token', 'session', 'agent']);
export type RevocationKind = z.infer<typeof RevocationKindSchema>;

export const RevocationV1Schema = z.strictObject({
  kind: RevocationKindSchema,
  /** Token id (jti), session id or agent id. */
  id: z.string().min(1),
  /** ISO 8601: after this the revocation can be forgotten (every token it could hit has expired). */
  until: z.string(),
  at: z.string(),
  by: z.string().min(1),
  reason: z.string().default(''),
});
export type RevocationV1 = z.infer<typeof RevocationV1Schema>;

export const SigningKeyRecordV1Schema = z.strictObject({
  kid: z.string().min(1),
  /** PKCS#8 PEM, Ed25519. */
  privateKeyPem: z.string(),
  /** SPKI PEM. */
  publicKeyPem: z.string(),
  createdAt: z.string(),
  /** No longer used to sign from this time on; still verifies until `expiresAt`. */
  retiredAt: z.string().optional(),
  /** After this no token it signed can be valid: the key can be dropped. */
  expiresAt: z.string().optional(),
});
export type SigningKeyRecordV1 = z.infer<typeof SigningKeyRecordV1Schema>;

export type IdentityChange =
  | { readonly kind: 'agent'; readonly id: string }
  | { readonly kind: 'revocation'; readonly revocation: RevocationV1 }
  | { readonly kind: 'key'; readonly kid: string };
