/**
 * @module cli/commands/gateway
 * The command tree of `reins gateway` (cli/gateway-command).
 */
import type { Command } from 'commander';
import type { CommandContext } from '../command-context.js';

/** `reins gateway`. */
export function registerGatewayCommand(program: Command, context: CommandContext): void {
  context
    .onDeployment(
      program
        .command('gateway')
        .description('run the MCP gateway for remote agents (Streamable HTTP, Reins credentials)'),
      'config',
    )
    .action(async (options: { config: string }) => {
      const { runHttpGateway } = await import('../gateway-command.js');
      context.exit(await runHttpGateway(options, context.io));
    });
}
