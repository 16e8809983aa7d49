/**
 * @module cli/user-commands
 * `reins users create|list|delete|rotate-token`: the humans who use the control plane and console.
 * A user's API token is printed once, at creation or rotation, and stored only as a hash. Every change
 * is recorded in the audit log as an `operator-action` by `cli:<os user>`.
 */
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { PostgresUserStore } from '../api/postgres-user-store.js';
import { SqliteUserStore } from '../api/sqlite-user-store.js';
import { createUser, hashUserToken, newUserToken, type UserStore } from '../api/users.js';
import { loadGatewayConfig } from '../loader/gateway-config-file.js';
import { formatProblem } from '../policy/policy-problem.js';
import { describeError, ReinsError } from '../spec/errors.js';
import {
  databaseUrlOf,
  openWritableAuditLog,
  type StoreOptions,
  storeOptionsOfConfig,
} from './audit-store.js';
import { type CliIo, DEFAULT_AUDIT_PATH, EXIT_ERROR, EXIT_OK } from './io.js';

export type UserStoreOptions = StoreOptions & { config?: string };

/** The users store on the same backing store as the audit log. */
export async function openUserStore(options: StoreOptions): Promise<UserStore> {
  const url = databaseUrlOf(options);
  if (url) return PostgresUserStore.open({ connectionString: url });
  return new SqliteUserStore({ path: options.db ?? DEFAULT_AUDIT_PATH });
}

/** `--config reins.yaml` means "the store that file names", as `reins serve` opens it. */
function resolveStore(options: UserStoreOptions): StoreOptions {
  if (options.config === undefined) return options;
  const loaded = loadGatewayConfig(options.config);
  if (!loaded.ok) throw new ReinsError('invalid_input', loaded.problems.map(formatProblem).join('\n'));
  return storeOptionsOfConfig(loaded.config, loaded.directory);
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
  work: (users: UserStore, record: (action: string, id: string) => Promise<void>) => Promise<number>,
): Promise<number> {
  let users: UserStore | undefined;
  try {
    const store = resolveStore(options);
    users = await openUserStore(store);
    const record = async (action: string, id: string) => {
      const audit = await openWritableAuditLog(store);
      try {
        const eventId = randomUUID();
        await audit.append({
          v: 1,
          id: eventId,
          time: new Date().toISOString(),
          kind: 'operator-action',
          decisionId: eventId,
          actor: { id: cliActor(), roles: [] },
          action,
          target: { type: 'user', id },
          reason: '',
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
    return EXIT_ERROR;
  } finally {
    await users?.close().catch(() => {});
  }
}

export function createUserCommand(
  id: string,
  options: UserStoreOptions & { role: string[] },
  io: CliIo,
): Promise<number> {
  return withUsers(options, io, async (users, record) => {
    const { user, token } = await createUser(users, { id, roles: options.role, by: cliActor() });
    await record('user.create', user.id);
    io.err(`created user ${user.id} (${user.roles.join(', ')}); the token is shown only now:`);
    io.out(token);
    return EXIT_OK;
  });
}

export function listUsers(options: UserStoreOptions & { format: string }, io: CliIo): Promise<number> {
  return withUsers(options, io, async (users) => {
    const list = (await users.list()).map(({ tokenHash: _hidden, ...user }) => user);
    if (options.format === 'json') io.out(JSON.stringify(list, null, 2));
    else if (list.length === 0) io.out('no users (create one: reins users create <id> --role admin)');
    else
      for (const user of list)
        io.out(`${user.id}\t${user.roles.join(',')}\tcreated ${user.createdAt} by ${user.createdBy}`);
    return EXIT_OK;
  });
}

export function deleteUser(id: string, options: UserStoreOptions, io: CliIo): Promise<number> {
  return withUsers(options, io, async (users, record) => {
    if (!(await users.delete(id))) throw new ReinsError('not_found', `unknown user \`${id}\``);
    await record('user.delete', id);
    io.out(`deleted user ${id}; their token and console sessions no longer work`);
    return EXIT_OK;
  });
}

export function rotateUserToken(id: string, options: UserStoreOptions, io: CliIo): Promise<number> {
  return withUsers(options, io, async (users, record) => {
    const token = newUserToken();
    if (!(await users.setTokenHash(id, hashUserToken(token)))) {
      throw new ReinsError('not_found', `unknown user \`${id}\``);
    }
    await record('user.rotate-token', id);
    io.err(`new token for ${id} (the old one stops working now); shown only now:`);
    io.out(token);
    return EXIT_OK;
  });
}
