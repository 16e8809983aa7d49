/**
 * @module cli/commands/posture
 * The command tree of `reins posture` (cli/posture-command).
 */
import type { Command } from 'commander';
import type { CommandContext } from '../command-context.js';
import type { PostureOptions } from '../posture-command.js';

/** `reins posture`. */
export function registerPostureCommand(program: Command, context: CommandContext): void {
  context
    .onDeployment(
      program
        .command('posture')
        .description(
          'score the deployment and its agents 0-25 over the five primitives, with the evidence for each point and the fix for each missing one',
        ),
      'config',
    )
    .option('--agent <id>', 'score only this agent (and the deployment)')
    .option('--format <format>', 'text, json or markdown', 'text')
    .action(async (options: PostureOptions) => {
      const { runPosture } = await import('../posture-command.js');
      context.exit(await runPosture(options, context.io));
    });
}
