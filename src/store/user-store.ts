/**
 * @module store/user-store
 * The stored form of control-plane users and the interface both backends (SQLite, PostgreSQL)
 * implement; api/users builds on it (tokens, roles) and re-exports it. What both backends share is
 * here too: a record is checked on the way in and out, and a taken id is the same `conflict`.
 */
import { z } from 'zod';
import { ReinsError } from '../spec/errors.js';
import { canonicalIdentity } from '../spec/human-identity.js';

export const UserIdSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9@._+-]{0,127}$/,
    'user ids are letters, digits, `@`, `.`, `_`, `+` and `-` (at most 128)',
  )
  // one user per human: `Alice@example.com` and `alice@example.com` are the same id
  .transform((id) => canonicalIdentity(id));

export const RoleSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,63}$/, 'roles are lowercase letters, digits, `_` and `-` (at most 64)');

export const UserRecordV1Schema = z.strictObject({
  v: z.literal(1),
  id: UserIdSchema,
  roles: z.array(RoleSchema).min(1),
  /** `sha256:<hex>` of the API token; the token itself is shown once, at creation. */
  tokenHash: z.string(),
  /** ISO 8601. */
  createdAt: z.string(),
  createdBy: z.string(),
});
export type UserRecordV1 = z.infer<typeof UserRecordV1Schema>;

export interface UserStore {
  /** Fails with `conflict` if the id exists. */
  create(user: UserRecordV1): Promise<void>;
  get(id: string): Promise<UserRecordV1 | undefined>;
  byTokenHash(tokenHash: string): Promise<UserRecordV1 | undefined>;
  list(): Promise<UserRecordV1[]>;
  /** Replaces the token hash (the old token stops working at once); false for an unknown user. */
  setTokenHash(id: string, tokenHash: string): Promise<boolean>;
  /** False for an unknown user. */
  delete(id: string): Promise<boolean>;
  close(): Promise<void>;
}

/** A stored user (the parsed JSON body), checked: a row that is not a valid record fails. */
export function readUser(body: unknown): UserRecordV1 {
  return UserRecordV1Schema.parse(body);
}

/** The insert of a new user found its id taken. */
export function userExists(id: string): ReinsError {
  return new ReinsError('conflict', `user \`${id}\` exists`);
}
