/**
 * @module cli/operator-auth
 * Who acts when a human runs a `reins` command that changes something (votes on held calls, session
 * control, overrides, agent suspension, user management): the user whose API token is given, with the
 * roles stored for that user; never a name typed on the command line. The token is the same hashed
 * user API token the control API accepts (docs/decisions/0013-operator-authentication.md). It comes
 * from `--token-file <path>` or the `REINS_TOKEN` environment variable, never from an argument that
 * every local user could read in `ps`.
 */
import { readFileSync, statSync } from 'node:fs';
import {
  type BuiltinRole,
  hashUserToken,
  holdsRole,
  USER_TOKEN_PREFIX,
  type UserRecordV1,
  type UserStore,
} from '../api/users.js';
import { describeError, ReinsError } from '../spec/errors.js';
import { EXIT_ERROR, EXIT_FAILED } from './io.js';

export const TOKEN_ENV = 'REINS_TOKEN';

/** How to authenticate, for every message that refuses an unauthenticated operator. */
export const HOW_TO_AUTHENTICATE =
  'give your user API token with `--token-file <path>` or the `REINS_TOKEN` environment variable (an admin creates users and their tokens with `reins users create`)';

export interface OperatorOptions {
  /** A file holding the user's API token (`reins_u_…`), readable by its owner only. */
  readonly tokenFile?: string;
}

/**
 * The identity options of earlier versions (`--as`, `--role`, `--by`). They are still parsed so that
 * a script using them fails with a message saying how to authenticate instead of a usage error.
 */
export interface ClaimedIdentityOptions {
  readonly as?: string;
  readonly role?: string;
  readonly by?: string;
}

/** The operator could not be authenticated, or lacks the role: exit code 1, never an action. */
export class OperatorRefused extends Error {
  constructor(
    readonly kind: 'unauthenticated' | 'forbidden',
    message: string,
  ) {
    super(message);
    this.name = 'OperatorRefused';
  }
}

/** Refuses the old identity options: who acts is no longer something the caller can state. */
export function rejectClaimedIdentity(options: ClaimedIdentityOptions): void {
  const claimed = (['as', 'role', 'by'] as const).find((name) => options[name] !== undefined);
  if (claimed !== undefined) {
    throw new OperatorRefused(
      'unauthenticated',
      `\`--${claimed}\` is no longer accepted: who acts, and with which roles, comes from the user's API token; ${HOW_TO_AUTHENTICATE}`,
    );
  }
}

/** The token from `--token-file` (which wins) or `REINS_TOKEN`; undefined when neither is given. */
export function readOperatorToken(
  options: OperatorOptions,
  warn: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (options.tokenFile === undefined) return env[TOKEN_ENV]?.trim() || undefined;
  let text: string;
  try {
    text = readFileSync(options.tokenFile, 'utf8');
    // like ssh with a private key: a token others can read is a token others can use
    if (process.platform !== 'win32' && (statSync(options.tokenFile).mode & 0o077) !== 0) {
      warn(
        `reins: warning: the token file \`${options.tokenFile}\` is readable by other users; \`chmod 600\` it`,
      );
    }
  } catch (error) {
    throw new OperatorRefused(
      'unauthenticated',
      `cannot read the token file \`${options.tokenFile}\`: ${describeError(error)}`,
    );
  }
  const token = text.trim();
  if (token === '') {
    throw new OperatorRefused('unauthenticated', `the token file \`${options.tokenFile}\` is empty`);
  }
  return token;
}

/** The operator's token; refuses before any store is opened when none is given. */
export function requireOperatorToken(options: OperatorOptions, warn: (line: string) => void): string {
  const token = readOperatorToken(options, warn);
  if (token === undefined) {
    throw new OperatorRefused('unauthenticated', `this command acts as a user: ${HOW_TO_AUTHENTICATE}`);
  }
  return token;
}

/** The user the token belongs to; refuses a malformed token and a replaced or deleted user's token. */
export async function userOfToken(token: string, users: UserStore): Promise<UserRecordV1> {
  if (!token.startsWith(USER_TOKEN_PREFIX)) {
    throw new OperatorRefused(
      'unauthenticated',
      `not a user API token (they start with \`${USER_TOKEN_PREFIX}\`); agent credentials cannot act as operators`,
    );
  }
  const user = await users.byTokenHash(hashUserToken(token));
  if (user === undefined) {
    throw new OperatorRefused(
      'unauthenticated',
      'unknown or revoked user token: it was replaced (`reins users rotate-token`) or its user was deleted',
    );
  }
  return user;
}

/** Both steps: the token given, and the user it belongs to. */
export async function authenticateOperator(
  options: OperatorOptions,
  users: UserStore,
  warn: (line: string) => void,
): Promise<UserRecordV1> {
  return userOfToken(requireOperatorToken(options, warn), users);
}

/** Checks a built-in role (hierarchy applied) before an action the oversight service does not check. */
export function requireOperatorRole(user: UserRecordV1, needed: BuiltinRole, what: string): void {
  if (!holdsRole(user.roles, needed)) {
    throw new OperatorRefused('forbidden', `\`${user.id}\` needs the ${needed} role to ${what}`);
  }
}

/** Refusals (authentication, role, separation of duties) exit 1; anything else is an error (2). */
export function exitCodeOf(error: unknown): number {
  if (error instanceof OperatorRefused) return EXIT_FAILED;
  if (error instanceof ReinsError && error.code === 'forbidden') return EXIT_FAILED;
  return EXIT_ERROR;
}
