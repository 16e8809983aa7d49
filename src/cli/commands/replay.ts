/**
 * @module cli/commands/replay
 * The command tree of `reins replay` (cli/replay-command).
 */
import type { Command } from 'commander';
import type { CommandContext } from '../command-context.js';
import type { ReplayCommandOptions } from '../replay-command.js';

/** `reins replay`. */
export function registerReplayCommand(program: Command, context: CommandContext): void {
  program
    .command('replay')
    .description(
      'run recorded traces through the pipeline with a policy and write one decision per tool call (JSON Lines)',
    )
    .argument(
      '<source>',
      'traces directory (agentdojo, openai), or an audit log: SQLite file or postgres:// URL (audit-log)',
    )
    .requiredOption('--format <format>', 'agentdojo, openai or audit-log')
    .requiredOption(
      '--policy <path>',
      'policy file or directory; a directory with <environment>.yaml files picks one per environment',
    )
    .requiredOption('--out <file>', 'decisions file to write: {"trace","index","decision"} per line')
    .option('--concurrency <n>', 'traces replayed at once', '8')
    .option('--explain', 'add the tool and, for flagged calls, the reasons to each line')
    .option(
      '--db <file>',
      "keep the replay's audit log (intents with argument provenance, outcomes) in this new SQLite file; default: in memory, discarded",
    )
    .action(async (source: string, options: ReplayCommandOptions) => {
      const { runReplay } = await import('../replay-command.js');
      context.exit(await runReplay(source, options, context.io));
    });
}
