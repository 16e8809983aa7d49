/**
 * @module cli/commands/users
 * The command tree of `reins users` (cli/user-commands).
 */
import type { Command } from 'commander';
import { type CommandContext, storeOptions } from '../command-context.js';
import type { UserStoreOptions } from '../user-commands.js';

const actions = () => import('../user-commands.js');

/** `reins users create|list|delete|rotate-token`. */
export function registerUserCommands(program: Command, context: CommandContext): void {
  const { io } = context;
  const users = program.command('users').description('humans who use the control plane and the console');
  const userTokenOption = (command: Command) =>
    command.option(
      '--token-file <path>',
      "file with an admin's user API token (default: REINS_TOKEN; not needed for the first user)",
    );
  userTokenOption(storeOptions(context, users.command('create'), 'first-user'))
    .description('create a user and print their API token (shown once)')
    .argument('<id>', 'e.g. an e-mail address')
    .requiredOption(
      '--role <role>',
      'viewer, approver or admin, or a role the policy names (repeatable)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .action(async (id: string, options: UserStoreOptions & { role: string[] }) =>
      context.exit(await (await actions()).createUserCommand(id, options, io)),
    );
  storeOptions(context, users.command('list'))
    .description('list users and their roles')
    .option('--format <format>', 'text or json', 'text')
    .action(async (options: UserStoreOptions & { format: string }) =>
      context.exit(await (await actions()).listUsers(options, io)),
    );
  userTokenOption(storeOptions(context, users.command('delete')))
    .description('delete a user (their token and console sessions stop working)')
    .argument('<id>')
    .action(async (id: string, options: UserStoreOptions) =>
      context.exit(await (await actions()).deleteUser(id, options, io)),
    );
  userTokenOption(storeOptions(context, users.command('rotate-token')))
    .description("replace a user's API token (printed once)")
    .argument('<id>')
    .action(async (id: string, options: UserStoreOptions) =>
      context.exit(await (await actions()).rotateUserToken(id, options, io)),
    );
}
