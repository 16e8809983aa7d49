/**
 * @module cli/agent-commands
 * `reins agents create|list|show|suspend|resume|retire|token|jwks`: the agent registry and
 * its credentials, on the embedded SQLite store or the shared PostgreSQL one. Suspend, resume and
 * retire are operator actions: they need an admin's user token (cli/operator-auth).
 */
import { readFileSync } from 'node:fs';
import { AgentRegistry } from '../auth/agent-registry.js';
import { Authenticator } from '../auth/authenticator.js';
import { delegatorsOf } from '../spec/credential-claims.js';
import { describeError } from '../spec/errors.js';
import type { AgentRecordV1 } from '../spec/identity.js';
import type { IdentityStore } from '../store/state-stores.js';
import { credentialKeysOf, openIdentityStore, type StoreOptions } from './audit-store.js';
import { type CliIo, EXIT_ERROR, EXIT_OK } from './io.js';
import { type ActorOptions, asOperator } from './oversight-commands.js';

/** Opens the store, runs `work`, closes; errors become exit code 2 with their message. */
async function withStore(
  options: StoreOptions,
  io: CliIo,
  work: (store: IdentityStore) => Promise<number>,
): Promise<number> {
  let store: IdentityStore | undefined;
  try {
    store = await openIdentityStore(options);
    return await work(store);
  } catch (error) {
    io.err(`reins agents: ${describeError(error)}`);
    return EXIT_ERROR;
  } finally {
    await store?.close().catch(() => {});
  }
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

function describeAgent(agent: AgentRecordV1): string {
  return [
    `${agent.id} (${agent.state})`,
    `  owner: ${agent.owner}`,
    `  description: ${agent.description || '-'}`,
    `  scopes: ${agent.scopes.join(', ') || '(none: it can do nothing)'}`,
    `  roles: ${agent.roles.join(', ') || '-'}`,
    `  risk tier: ${agent.riskTier}`,
    `  created ${agent.createdAt}, updated ${agent.updatedAt}`,
  ].join('\n');
}

/** `reins agents create`'s options, as the command line gives them. */
export type CreateAgentOptions = StoreOptions & {
  owner: string;
  description?: string;
  scopes?: string;
  roles?: string;
  riskTier?: string;
};

export function createAgent(id: string, options: CreateAgentOptions, io: CliIo): Promise<number> {
  return withStore(options, io, async (store) => {
    const agent = await new AgentRegistry(store).create({
      id,
      owner: options.owner,
      ...(options.description ? { description: options.description } : {}),
      scopes: list(options.scopes),
      roles: list(options.roles),
      ...(options.riskTier ? { riskTier: options.riskTier as AgentRecordV1['riskTier'] } : {}),
    });
    io.out(describeAgent(agent));
    return EXIT_OK;
  });
}

export function listAgents(options: StoreOptions & { format: string }, io: CliIo): Promise<number> {
  return withStore(options, io, async (store) => {
    const agents = await new AgentRegistry(store).list();
    if (options.format === 'json') io.out(JSON.stringify(agents, null, 2));
    else
      for (const agent of agents)
        io.out(
          `${agent.id.padEnd(24)} ${agent.state.padEnd(10)} ${agent.owner.padEnd(28)} ${agent.scopes.join(' ')}`,
        );
    return EXIT_OK;
  });
}

export function showAgent(id: string, options: StoreOptions, io: CliIo): Promise<number> {
  return withStore(options, io, async (store) => {
    io.out(describeAgent(await new AgentRegistry(store).show(id)));
    return EXIT_OK;
  });
}

/**
 * Suspend (kill switch), resume or retire: an admin action through the oversight service, so that
 * the user's role is checked and the change is recorded as an `operator-action` like in the console.
 */
export function changeAgentState(
  action: 'suspend' | 'resume' | 'retire',
  id: string,
  options: StoreOptions & ActorOptions & { reason: string },
  io: CliIo,
): Promise<number> {
  return asOperator('agents', options, io, async (oversight, actor) => {
    const change = { suspend: 'suspendAgent', resume: 'resumeAgent', retire: 'retireAgent' } as const;
    const agent = await oversight[change[action]](id, actor, options.reason);
    const revoked = action === 'resume' ? '' : '; every credential it held is revoked';
    io.out(`agent \`${agent.id}\` is ${agent.state}${revoked}`);
    return EXIT_OK;
  });
}

export function issueAgentToken(
  id: string,
  options: StoreOptions & { session?: string; scopes?: string; ttl?: number },
  io: CliIo,
): Promise<number> {
  return withStore(options, io, async (store) => {
    const auth = await Authenticator.open({ store, keys: credentialKeysOf(options), log: io.err });
    try {
      // --ttl is whole seconds, checked by the command line (cli/option-values)
      const { token, claims } = await auth.issue(id, {
        ...(options.session ? { sessionId: options.session } : {}),
        ...(options.scopes ? { scopes: list(options.scopes) } : {}),
        ...(options.ttl !== undefined ? { ttlSeconds: options.ttl } : {}),
      });
      io.out(token);
      io.err(
        `token ${claims.jti} for ${claims.sub}, session ${claims.sid}, scopes ${claims.scope}, expires ${new Date(claims.exp * 1000).toISOString()}`,
      );
      return EXIT_OK;
    } finally {
      auth.close();
    }
  });
}

/**
 * `reins agents delegate <id> --from <file|->`: a credential for `id` to carry out a task of the
 * credential read from `--from` (never from the command line, where other users of the host could read
 * it). Delegation only narrows (auth/authenticator, identity/delegation): the scopes, lifetime and
 * session of the new credential stay within the delegating one's, and the chain of agents and the
 * sessions it was delegated from are recorded. Agents do the same over HTTP (gateway/token-exchange).
 */
export function delegateAgentToken(
  id: string,
  options: StoreOptions & { from: string; task: string; scopes?: string; ttl?: number; session?: string },
  io: CliIo,
  readInput: (path: string) => string = (path) => readFileSync(path === '-' ? 0 : path, 'utf8'),
): Promise<number> {
  return withStore(options, io, async (store) => {
    let parent: string;
    try {
      parent = readInput(options.from).trim();
    } catch (error) {
      io.err(`reins agents delegate: cannot read the delegating credential: ${describeError(error)}`);
      return EXIT_ERROR;
    }
    if (parent === '') {
      io.err('reins agents delegate: the delegating credential is empty');
      return EXIT_ERROR;
    }
    const auth = await Authenticator.open({ store, keys: credentialKeysOf(options), log: io.err });
    try {
      const { token, claims } = await auth.delegate(parent, {
        agentId: id,
        task: options.task,
        ...(options.session ? { sessionId: options.session } : {}),
        ...(options.scopes ? { scopes: list(options.scopes) } : {}),
        ...(options.ttl !== undefined ? { ttlSeconds: options.ttl } : {}),
      });
      io.out(token);
      io.err(
        `token ${claims.jti} for ${claims.sub}, delegated by ${delegatorsOf(claims).join(' <- ')}, session ${claims.sid} (delegated from ${claims.psn.join(' -> ')}), scopes ${claims.scope}, expires ${new Date(claims.exp * 1000).toISOString()}`,
      );
      return EXIT_OK;
    } finally {
      auth.close();
    }
  });
}

export function showJwks(options: StoreOptions, io: CliIo): Promise<number> {
  return withStore(options, io, async (store) => {
    const auth = await Authenticator.open({ store, keys: credentialKeysOf(options), log: io.err });
    io.out(JSON.stringify(await auth.jwks(), null, 2));
    auth.close();
    return EXIT_OK;
  });
}
