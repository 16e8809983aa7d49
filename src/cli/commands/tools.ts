/**
 * @module cli/commands/tools
 * The command tree of `reins tools` (cli/tools-commands).
 */
import type { Command } from 'commander';
import { type CommandContext, LOCK_HELP } from '../command-context.js';

const actions = () => import('../tools-commands.js');

/** `reins tools list|approve`. */
export function registerToolsCommands(program: Command, context: CommandContext): void {
  const { io } = context;
  const tools = program.command('tools').description('tool definition pins (reins.lock) and quarantine');
  context
    .onDeployment(tools.command('list'), 'lock')
    .description('pinned and quarantined tools; exits 1 when any is in quarantine')
    .option('--lock <file>', LOCK_HELP)
    .action(async (options: { lock: string }) => {
      context.exit((await actions()).listTools(options, io));
    });
  context
    .onDeployment(tools.command('approve'), 'lock')
    .description('re-approve a quarantined tool after reviewing its definition')
    .argument('<tool>', '<upstream>/<name>, as `reins tools list` shows it')
    .requiredOption('--by <human>', 'who reviewed it')
    .option('--lock <file>', LOCK_HELP)
    .action(async (key: string, options: { lock: string; by: string }) => {
      context.exit((await actions()).approveTool(key, options, io));
    });
}
