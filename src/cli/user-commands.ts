/**
 * @module cli/user-commands
 * `reins users create|list|delete|rotate-token`: the humans who use the control plane and console.
 * A user's API token is printed once, at creation or rotation, and stored only as a hash. Changes need
 * an admin's user token (a user may also rotate their own), except the very first user, who can only
 * be created by someone with write access to the store (trusted anyway: decision 0013). Every change
 * is recorded in the audit log as an `operator-action` by the user who made it.
 */
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { actorOf } from '../api/caller.js';
import { createUser, hashUserToken, holdsRole, newUserToken, type UserStore } from '../api/users.js';
import { describeError, ReinsError } from '../spec/errors.js';
import type { Actor } from '../spec/oversight.js';
import { PostgresUserStore } from '../store/postgres/postgres-user-store.js';
import { SqliteUserStore } from '../store/sqlite/sqlite-user-store.js';
import { databaseUrlOf, openWritableAuditLog, type StoreOptions } from './audit-store.js';
import { type CliIo, DEFAULT_AUDIT_PATH, EXIT_OK } from './io.js';
import {
  authenticateOperator,
  exitCodeOf,
  type OperatorOptions,
  OperatorRefused,
  requireOperatorRole,
} from './operator-auth.js';

export type UserStoreOptions = StoreOptions & OperatorOptions & { config?: string };

/** Who changes users, as recorded: the authenticated user, or the one bootstrapping the first user. */
interface UserChanger {
  readonly actor: Actor;
  readonly reason: string;
}

/** The users store on the same backing store as the audit log. */
export async function openUserStore(options: StoreOptions): Promise<UserStore> {
  const url = databaseUrlOf(options);
  if (url) return PostgresUserStore.open({ connectionString: url });
  return new SqliteUserStore({ path: options.db ?? DEFAULT_AUDIT_PATH });
}

function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli:unknown';
  }
}

async function withUsers(
  options: UserStoreOptions,
  io: CliIo,
  work: (
    users: UserStore,
    record: (by: UserChanger, action: string, id: string) => Promise<void>,
  ) => Promise<number>,
): Promise<number> {
  let users: UserStore | undefined;
  try {
    // the command line resolved the deployment (--config, REINS_CONFIG, ./reins.yaml: cli/deployment)
    const store: StoreOptions = options;
    users = await openUserStore(store);
    const record = async (by: UserChanger, action: string, id: string) => {
      const audit = await openWritableAuditLog(store);
      try {
        const eventId = randomUUID();
        await audit.append({
          v: 1,
          id: eventId,
          time: new Date().toISOString(),
          kind: 'operator-action',
          decisionId: eventId,
          actor: by.actor,
          action,
          target: { type: 'user', id },
          reason: by.reason,
          sessionId: '',
          agentId: '',
        });
      } finally {
        await audit.close();
      }
    };
    return await work(users, record);
  } catch (error) {
    io.err(`reins users: ${error instanceof ReinsError ? error.message : describeError(error)}`);
    return exitCodeOf(error);
  } finally {
    await users?.close().catch(() => {});
  }
}

/** The admin (or, where `self` is allowed, the user themself) whose token is given. */
async function userAdmin(
  users: UserStore,
  options: UserStoreOptions,
  io: CliIo,
  what: string,
  self?: string,
): Promise<UserChanger> {
  const user = await authenticateOperator(options, users, io.err);
  if (user.id !== self) requireOperatorRole(user, 'admin', what);
  return { actor: actorOf(user), reason: '' };
}

/**
 * The first user needs no token (nobody could hold one yet): whoever can write to the store could
 * create one directly anyway. It must be an admin, or nobody could create the others.
 */
async function creator(
  users: UserStore,
  options: UserStoreOptions & { role: string[] },
  io: CliIo,
): Promise<UserChanger> {
  if ((await users.list()).length > 0) return userAdmin(users, options, io, 'create users');
  if (!holdsRole(options.role, 'admin')) {
    throw new OperatorRefused(
      'forbidden',
      'the first user must be an admin (`--role admin`): they create the others',
    );
  }
  return {
    actor: { id: cliActor(), roles: [] },
    reason: 'bootstrap: the first user, created with write access to the store',
  };
}

export function createUserCommand(
  id: string,
  options: UserStoreOptions & { role: string[] },
  io: CliIo,
): Promise<number> {
  return withUsers(options, io, async (users, record) => {
    const by = await creator(users, options, io);
    const { user, token } = await createUser(users, { id, roles: options.role, by: by.actor.id });
    await record(by, 'user.create', user.id);
    io.err(`created user ${user.id} (${user.roles.join(', ')}); the token is shown only now:`);
    io.out(token);
    return EXIT_OK;
  });
}

export function listUsers(options: UserStoreOptions & { format: string }, io: CliIo): Promise<number> {
  return withUsers(options, io, async (users) => {
    const list = (await users.list()).map(({ tokenHash: _hidden, ...user }) => user);
    if (options.format === 'json') io.out(JSON.stringify(list, null, 2));
    else if (list.length === 0)
      io.out('no users (create the first one: reins users create <id> --role admin)');
    else
      for (const user of list)
        io.out(`${user.id}\t${user.roles.join(',')}\tcreated ${user.createdAt} by ${user.createdBy}`);
    return EXIT_OK;
  });
}

export function deleteUser(id: string, options: UserStoreOptions, io: CliIo): Promise<number> {
  return withUsers(options, io, async (users, record) => {
    const by = await userAdmin(users, options, io, 'delete users');
    if (!(await users.delete(id))) throw new ReinsError('not_found', `unknown user \`${id}\``);
    await record(by, 'user.delete', id);
    io.out(`deleted user ${id}; their token and console sessions no longer work`);
    return EXIT_OK;
  });
}

export function rotateUserToken(id: string, options: UserStoreOptions, io: CliIo): Promise<number> {
  return withUsers(options, io, async (users, record) => {
    const by = await userAdmin(users, options, io, "replace another user's token", id);
    const token = newUserToken();
    if (!(await users.setTokenHash(id, hashUserToken(token)))) {
      throw new ReinsError('not_found', `unknown user \`${id}\``);
    }
    await record(by, 'user.rotate-token', id);
    io.err(`new token for ${id} (the old one stops working now); shown only now:`);
    io.out(token);
    return EXIT_OK;
  });
}
