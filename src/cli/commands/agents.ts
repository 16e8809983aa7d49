/**
 * @module cli/commands/agents
 * The command tree of `reins agents` (cli/agent-commands).
 */
import type { Command } from 'commander';
import type { CreateAgentOptions } from '../agent-commands.js';
import type { StoreOptions } from '../audit-store.js';
import {
  type CommandContext,
  CREDENTIAL_KEYS_FLAG,
  CREDENTIAL_KEYS_HELP,
  storeOptions,
  withOperator,
} from '../command-context.js';
import { durationSeconds } from '../option-values.js';
import type { ActorOptions } from '../oversight-commands.js';

const actions = () => import('../agent-commands.js');

/** `reins agents create|list|show|suspend|resume|retire|token|delegate|jwks`. */
export function registerAgentCommands(program: Command, context: CommandContext): void {
  const { io } = context;
  const agents = program.command('agents').description('agent identities and their credentials');
  storeOptions(context, agents.command('create'), 'start')
    .description('register an agent')
    .argument('<id>', 'agent id (lowercase letters, digits, . _ -)')
    .requiredOption('--owner <human>', 'the accountable human')
    .option('--description <text>')
    .option('--scopes <list>', 'comma-separated tools it may act on: server/name, crm/* or *')
    .option('--roles <list>', 'comma-separated roles')
    .option('--risk-tier <tier>', 'low, medium, high or critical')
    .action(async (id: string, options: CreateAgentOptions) =>
      context.exit(await (await actions()).createAgent(id, options, io)),
    );
  storeOptions(context, agents.command('list'))
    .option('--format <format>', 'table or json', 'table')
    .action(async (options: StoreOptions & { format: string }) =>
      context.exit(await (await actions()).listAgents(options, io)),
    );
  storeOptions(context, agents.command('show'))
    .argument('<id>')
    .action(async (id: string, options: StoreOptions) =>
      context.exit(await (await actions()).showAgent(id, options, io)),
    );
  for (const action of ['suspend', 'resume', 'retire'] as const) {
    withOperator(storeOptions(context, agents.command(action)))
      .description(
        action === 'suspend'
          ? 'kill switch: refuse its calls and revoke its credentials everywhere'
          : `${action} an agent`,
      )
      .argument('<id>')
      .requiredOption('--reason <text>', 'why, for the record')
      .action(async (id: string, options: StoreOptions & ActorOptions & { reason: string }) =>
        context.exit(await (await actions()).changeAgentState(action, id, options, io)),
      );
  }
  storeOptions(context, agents.command('token'))
    .description('issue a short-lived credential (printed on standard output)')
    .option(CREDENTIAL_KEYS_FLAG, CREDENTIAL_KEYS_HELP)
    .argument('<id>')
    .option('--session <id>', 'session the credential is bound to (default: a new one)')
    .option('--scopes <list>', 'narrower than the mission (default: the whole mission)')
    .option(
      '--ttl <duration>',
      'lifetime: 30m, 1h, ... or seconds (default 15m, at most 24h)',
      durationSeconds,
    )
    .action(async (id: string, options: StoreOptions & { session?: string; scopes?: string; ttl?: number }) =>
      context.exit(await (await actions()).issueAgentToken(id, options, io)),
    );
  storeOptions(context, agents.command('delegate'))
    .description(
      "issue a credential for an agent to carry out another credential's task (only ever narrower)",
    )
    .option(CREDENTIAL_KEYS_FLAG, CREDENTIAL_KEYS_HELP)
    .argument('<id>', 'the agent the task is delegated to')
    .requiredOption('--from <file|->', 'file holding the delegating credential (- for standard input)')
    .requiredOption('--task <text>', 'what the delegated agent is to do, for the record')
    .option('--scopes <list>', "narrower than the delegating credential's (default: its scopes)")
    .option('--session <id>', 'session the credential is bound to (default: <delegating session>/<task>)')
    .option('--ttl <duration>', 'lifetime, at most what the delegating credential has left', durationSeconds)
    .action(
      async (
        id: string,
        options: StoreOptions & {
          from: string;
          task: string;
          scopes?: string;
          ttl?: number;
          session?: string;
        },
      ) => context.exit(await (await actions()).delegateAgentToken(id, options, io)),
    );
  storeOptions(context, agents.command('jwks'), 'keys')
    .description('print the JSON Web Key Set other services verify credentials with')
    .option(CREDENTIAL_KEYS_FLAG, CREDENTIAL_KEYS_HELP)
    .action(async (options: StoreOptions) => context.exit(await (await actions()).showJwks(options, io)));
}
