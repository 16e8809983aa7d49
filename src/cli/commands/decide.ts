/**
 * @module cli/commands/decide
 * The command tree of `reins decide` (cli/decide-command).
 */
import type { Command } from 'commander';
import {
  CONFIG_FLAG,
  CONFIG_HELP,
  type CommandContext,
  DATABASE_URL_HELP,
  DB_HELP,
} from '../command-context.js';
import type { DecideCommandOptions } from '../decide-command.js';

/** `reins decide`. */
export function registerDecideCommand(program: Command, context: CommandContext): void {
  const { io } = context;
  program
    .command('decide')
    .description(
      "dry-run one call (nothing runs, nothing is recorded): against the named session's state on a deployment, else a fresh session; prints the Decision as JSON",
    )
    .option('--policy <path>', "policy file or directory (default: the deployment's policy)")
    .option(CONFIG_FLAG, CONFIG_HELP)
    .option('--db <file>', DB_HELP)
    .option('--database-url <url>', DATABASE_URL_HELP)
    .requiredOption(
      '--call <json|@file>',
      'the call: {"principal":{"agentId":..},"sessionId":..,"tool":{"server":..,"name":..},"args":{..}}',
    )
    .action(async (options: DecideCommandOptions) => {
      const { runDecide } = await import('../decide-command.js');
      context.exit(await runDecide(options, io));
    });
}
