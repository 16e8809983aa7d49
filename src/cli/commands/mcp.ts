/**
 * @module cli/commands/mcp
 * The command tree of `reins mcp` (cli/mcp-command). A desktop client starts `reins mcp` for every
 * conversation: the gateway's modules load when the action runs, not while the command line is built.
 */
import { type Command, Option } from 'commander';
import {
  CHECKPOINT_KEYS_HELP,
  type CommandContext,
  DATABASE_URL_HELP,
  DB_HELP,
  LOCK_HELP,
} from '../command-context.js';
import type { McpCommandOptions } from '../mcp-command.js';
import { durationMilliseconds } from '../option-values.js';

/** `reins mcp`. */
export function registerMcpCommand(program: Command, context: CommandContext): void {
  const { io } = context;
  context
    .onDeployment(
      program
        .command('mcp')
        .description(
          'run as a local MCP server (stdio) in front of one upstream: reins mcp --agent a --policy p.yaml -- <command...>',
        ),
      'start',
    )
    .requiredOption('--agent <id>', 'the registered agent this client acts as')
    .option('--policy <path>', "policy file or directory, hot-reloaded (default: the deployment's policy)")
    .option('--name <upstream>', 'name of the upstream in policies (tools are <name>/<tool>)', 'local')
    .option('--db <file>', DB_HELP)
    .option('--database-url <url>', DATABASE_URL_HELP)
    .option(
      '--call-timeout <duration>',
      'how long the upstream may take per call: 30s, 2m, ... or milliseconds',
      durationMilliseconds,
      '60000',
    )
    .option(
      '--approval-timeout <duration>',
      'how long a held call waits for human approval: 5m, 1h, ... or milliseconds',
      durationMilliseconds,
      '300000',
    )
    .option('--lock <file>', `${LOCK_HELP}; commit it`)
    .option('--checkpoint-keys <dir>', CHECKPOINT_KEYS_HELP)
    .option(
      '--publish-checkpoints <dir>',
      'append every signed checkpoint to <dir>/checkpoints.jsonl, outside the database (verify with `reins audit verify --checkpoints`)',
    )
    .option('--publish-checkpoints-webhook <url>', 'POST every signed checkpoint to this URL')
    .option(
      '--env <NAME|NAME=value>',
      "the upstream gets PATH, HOME and the locale, not Reins' environment: pass NAME on, or set NAME=value (repeatable; never REINS_*)",
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .addOption(
      new Option(
        '--durability <mode>',
        "SQLite audit commits: causal = intents fsync'd before the tool runs, outcomes within 20 ms and before any decision that may read them takes effect (decision 0028); full = every commit fsync'd before the call goes on; process = no fsync each (survives a crash of Reins only; decision 0010); default: the configuration's, else causal",
      ).choices(['causal', 'full', 'process']),
    )
    .argument('<command...>', 'the upstream MCP server to spawn, after `--`')
    .action(async (command: string[], options: McpCommandOptions) => {
      const { runMcp } = await import('../mcp-command.js');
      context.exit(await runMcp(command, options, io));
    });
}
