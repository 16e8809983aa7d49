/**
 * @module cli/commands/oversight
 * The command tree of `reins approvals`, `reins sessions` and `reins override` (cli/oversight-commands).
 */
import type { Command } from 'commander';
import type { StoreOptions } from '../audit-store.js';
import { type CommandContext, storeOptions, withOperator } from '../command-context.js';
import type { ActorOptions } from '../oversight-commands.js';

const actions = () => import('../oversight-commands.js');

/** `reins approvals list|show|approve|deny`, `reins sessions list|show|pause|resume|kill`, `reins override`. */
export function registerOversightCommands(program: Command, context: CommandContext): void {
  const { io } = context;
  const actorOptions = (command: Command) => withOperator(storeOptions(context, command));

  const approvals = program.command('approvals').description('held calls waiting for human approval');
  storeOptions(context, approvals.command('list'))
    .description('approval requests (default: pending ones)')
    .option('--status <status>', 'pending, approved, denied, expired, used or cancelled', 'pending')
    .option('--format <format>', 'text or json', 'text')
    .action(async (options: StoreOptions & { status: string; format: string }) =>
      context.exit(await (await actions()).listApprovals(options, io)),
    );
  storeOptions(context, approvals.command('show'))
    .argument('<id>', "the approval request (= the held call's decision id)")
    .option('--format <format>', 'text or json', 'text')
    .action(async (id: string, options: StoreOptions & { format: string }) =>
      context.exit(await (await actions()).showApproval(id, options, io)),
    );
  for (const verdict of ['approve', 'deny'] as const) {
    actorOptions(approvals.command(verdict))
      .description(`${verdict} a held call (the waiting call resumes in whichever process holds it)`)
      .argument('<id>', 'the approval request')
      .requiredOption('--reason <text>', 'why, for the record')
      .action(async (id: string, options: StoreOptions & ActorOptions & { reason: string }) =>
        context.exit(await (await actions()).voteApproval(id, verdict === 'approve', options, io)),
      );
  }

  const sessions = program.command('sessions').description('agent sessions: inspect, pause, resume, kill');
  storeOptions(context, sessions.command('list'))
    .option('--status <status>', 'active, paused or killed')
    .option('--agent <id>', "only this agent's sessions")
    .option('--format <format>', 'text or json', 'text')
    .action(async (options: StoreOptions & { status?: string; agent?: string; format: string }) =>
      context.exit(await (await actions()).listSessions(options, io)),
    );
  storeOptions(context, sessions.command('show'))
    .description('status and timeline of a session, with the provenance of each step')
    .argument('<id>')
    .option('--format <format>', 'text or json', 'text')
    .action(async (id: string, options: StoreOptions & { format: string }) =>
      context.exit(await (await actions()).showSession(id, options, io)),
    );
  for (const [verb, status] of [
    ['pause', 'paused'],
    ['resume', 'active'],
    ['kill', 'killed'],
  ] as const) {
    actorOptions(sessions.command(verb))
      .description(
        verb === 'kill'
          ? 'stop a session for good: its held and further calls are refused'
          : `${verb} a session`,
      )
      .argument('<id>')
      .requiredOption('--reason <text>', 'why, for the record')
      .action(async (id: string, options: StoreOptions & ActorOptions & { reason: string }) =>
        context.exit(await (await actions()).setSessionStatus(id, status, options, io)),
      );
  }

  actorOptions(program.command('override'))
    .description('let one denied call run once if the agent retries it unchanged (admins)')
    .argument('<decision-id>', 'the denied call, as the audit log names it')
    .requiredOption('--reason <text>', 'why, for the record')
    .option('--session <id>', "the call's session (needed for denials older than a day)")
    .action(async (id: string, options: StoreOptions & ActorOptions & { reason: string; session?: string }) =>
      context.exit(await (await actions()).overrideDenial(id, options, io)),
    );
}
