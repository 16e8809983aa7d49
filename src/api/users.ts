/**
 * @module api/users
 * Human users of the control plane: who they are, which roles they hold, and their API token (kept
 * only as a hash). Roles are ordered viewer < approver < admin (a higher one implies the lower ones);
 * further roles named by policy (e.g. `finance-approvers`) are held as given. The stored record and
 * the UserStore interface are the store's (store/user-store), re-exported here for the API's users.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ReinsError } from '../spec/errors.js';
import { BUILTIN_ROLES } from '../spec/oversight.js';
import { type UserRecordV1, UserRecordV1Schema, type UserStore } from '../store/user-store.js';

export type BuiltinRole = (typeof BUILTIN_ROLES)[number];

export {
  RoleSchema,
  UserIdSchema,
  type UserRecordV1,
  UserRecordV1Schema,
  type UserStore,
} from '../store/user-store.js';

/**
 * The human behind a request: a stored user, or a person signed in through OpenID Connect (no stored
 * record), who may also be known by `aliases` — the email the provider verified for them — which
 * separation of duties counts as the same human (spec/oversight `sameHuman`).
 */
export type HumanUser = UserRecordV1 & { readonly aliases?: readonly string[] };

/** A user as the API shows it (never the token hash). */
export type UserView = Pick<UserRecordV1, 'id' | 'roles' | 'createdAt' | 'createdBy'>;

/** Every user token starts with this, so that it is recognisable in logs and secret scanners. */
export const USER_TOKEN_PREFIX = 'reins_u_';

/** A fresh API token: 256 random bits. */
export function newUserToken(): string {
  return `${USER_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/**
 * Tokens are long random strings, so a plain (unsalted) sha256 is enough to make a stolen table
 * useless, and it lets a token be looked up by its hash.
 */
export function hashUserToken(token: string): string {
  return `sha256:${createHash('sha256').update(token, 'utf8').digest('hex')}`;
}

const RANK: Record<BuiltinRole, number> = { viewer: 1, approver: 2, admin: 3 };

/** The roles a user holds, with the built-in roles their highest built-in role implies. */
export function effectiveRoles(roles: readonly string[]): string[] {
  const highest = Math.max(0, ...roles.map((role) => RANK[role as BuiltinRole] ?? 0));
  const implied = BUILTIN_ROLES.filter((role) => RANK[role] <= highest);
  return [...new Set([...implied, ...roles])];
}

/** Whether a user with `roles` may do what needs `needed` (hierarchy applied). */
export function holdsRole(roles: readonly string[], needed: BuiltinRole): boolean {
  return effectiveRoles(roles).includes(needed);
}

/**
 * Whether a human with `roles` may roll sessions back: one of their roles, with the built-in ones
 * implied (an admin holds approver and viewer), is among the policy's `rollback.operators` (which
 * always names admin). The API and `reins rollback` both check with this.
 */
export function mayRollBack(roles: readonly string[], operators: readonly string[]): boolean {
  return effectiveRoles(roles).some((role) => operators.includes(role));
}

export function userView(user: UserRecordV1): UserView {
  return { id: user.id, roles: user.roles, createdAt: user.createdAt, createdBy: user.createdBy };
}

/** Creates a user and returns its API token: the only time the token is ever available. */
export async function createUser(
  store: UserStore,
  input: { id: string; roles: readonly string[]; by: string },
  clock: () => number = Date.now,
): Promise<{ user: UserRecordV1; token: string }> {
  const token = newUserToken();
  const parsed = UserRecordV1Schema.safeParse({
    v: 1,
    id: input.id,
    roles: [...new Set(input.roles)],
    tokenHash: hashUserToken(token),
    createdAt: new Date(clock()).toISOString(),
    createdBy: input.by,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ReinsError(
      'invalid_input',
      `invalid user: \`${issue?.path.join('.') || 'roles'}\`: ${issue?.message ?? 'invalid'}`,
    );
  }
  await store.create(parsed.data);
  return { user: parsed.data, token };
}
