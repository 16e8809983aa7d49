/**
 * @module cli/commands/policy
 * The command tree of `reins policy check|test|diff` (cli/policy-commands, cli/policy-diff-command).
 */
import type { Command } from 'commander';
import { CONFIG_FLAG, CONFIG_HELP, type CommandContext } from '../command-context.js';
import { EXIT_ERROR } from '../io.js';
import { positiveInteger } from '../option-values.js';
import type { PolicyDiffCommandOptions } from '../policy-diff-command.js';

/** `reins policy check|test|diff`. */
export function registerPolicyCommands(program: Command, context: CommandContext): void {
  const { io } = context;
  const policy = program.command('policy').description('validate and test policy files');
  policy
    .command('check')
    .description('validate policy files; problems are reported as file:line:column')
    .argument('[paths...]', "policy files or directories (default: the deployment's policy)")
    .option(CONFIG_FLAG, CONFIG_HELP)
    .action(async (paths: string[], options: { config?: string }) => {
      // only a check without paths reads the deployment (its reins.yaml, and so the store's modules)
      const given =
        paths.length > 0
          ? paths
          : (await import('../deployment.js')).deploymentPolicy('policy check', options, io);
      if (given === undefined) {
        context.exit(EXIT_ERROR);
        return;
      }
      const { checkPolicies } = await import('../policy-commands.js');
      context.exit(checkPolicies(given, io));
    });
  policy
    .command('test')
    .description('run policy unit tests (*.test.yaml)')
    .argument('<path>', 'a test file or a directory searched for *.test.yaml')
    .action(async (path: string) => {
      const { testPolicies } = await import('../policy-commands.js');
      context.exit(await testPolicies(path, io));
    });
  policy
    .command('diff')
    .description(
      'policy CI: replay recorded traffic under a base and a candidate policy and list the calls decided differently (exit 1 when any)',
    )
    .option('--base <path>', "the policy in force (default: the deployment's policy)")
    .requiredOption('--candidate <path>', 'the policy to try')
    .option(
      '--traffic <log>',
      "an audit log: SQLite file or postgres:// URL (default: the deployment's store)",
    )
    .option(CONFIG_FLAG, CONFIG_HELP)
    .option('--examples <n>', 'changed calls shown in full', positiveInteger, 10)
    .option('--json', 'print the whole report as JSON')
    .option(
      '--allow-drift',
      'exit by the changes even when the base does not reproduce the recorded decisions',
    )
    .action(async (options: PolicyDiffCommandOptions) => {
      const { runPolicyDiff } = await import('../policy-diff-command.js');
      context.exit(await runPolicyDiff(options, io));
    });
}
