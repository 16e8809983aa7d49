/**
 * @module cli/commands/serve
 * The command tree of `reins serve` (cli/serve-command).
 */
import type { Command } from 'commander';
import type { CommandContext } from '../command-context.js';

/** `reins serve`. */
export function registerServeCommand(program: Command, context: CommandContext): void {
  context
    .onDeployment(
      program
        .command('serve')
        .description(
          'run the MCP gateway, the control-plane API and the web console in one process (reins.yaml with an optional `control:` section)',
        ),
      'config',
    )
    .action(async (options: { config: string }) => {
      const { runServe } = await import('../serve-command.js');
      context.exit(await runServe(options, context.io));
    });
}
