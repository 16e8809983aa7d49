/**
 * @module cli/commands/rollback
 * The command tree of `reins rollback` (cli/rollback-command).
 */
import type { Command } from 'commander';
import { type CommandContext, withOperator } from '../command-context.js';
import type { RollbackCommandOptions } from '../rollback-command.js';

/** `reins rollback`. */
export function registerRollbackCommand(program: Command, context: CommandContext): void {
  context
    .onDeployment(
      withOperator(
        program
          .command('rollback')
          .description(
            "undo what an agent session did: each call's compensation, newest first, through the gateway's pipeline and upstreams",
          ),
      ),
      'config',
    )
    .requiredOption('--session <id>', 'the session to roll back')
    .option('--to <decision-id>', 'keep this call and undo everything after it')
    .option('--dry-run', 'show what would be undone, and conflicts; change nothing')
    .option('--force', 'undo even where other sessions changed the same resources since (overwrites them)')
    .option('--reason <text>', 'why, for the record (required unless --dry-run)')
    .option('--format <format>', 'text or json', 'text')
    .action(async (options: RollbackCommandOptions) => {
      const { runRollback } = await import('../rollback-command.js');
      context.exit(await runRollback(options, context.io));
    });
}
