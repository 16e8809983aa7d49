/**
 * @module cli/policy-commands
 * `reins policy check` (validate policy files, report problems at file:line:column) and
 * `reins policy test` (run policy unit tests) and `reins policy diff` (policy CI: cli/policy-diff-command).
 */

import type { Command } from 'commander';
import { loadPolicy } from '../loader/policy-files.js';
import { findPolicyTestFiles, runPolicyTestFile } from '../loader/policy-test-runner.js';
import { formatProblem } from '../policy/policy-problem.js';
import { describeError } from '../spec/errors.js';
import { CONFIG_FLAG, CONFIG_HELP, type CommandContext, deploymentPolicy } from './command-context.js';
import { resolveDeployment } from './deployment.js';
import { type CliIo, describeFully, EXIT_ERROR, EXIT_FAILED, EXIT_OK } from './io.js';
import { positiveInteger } from './option-values.js';
import { policyDiff } from './policy-diff-command.js';

export function checkPolicies(paths: readonly string[], io: CliIo): number {
  let exitCode = EXIT_OK;
  for (const path of paths) {
    const loaded = loadPolicy(path);
    if (!loaded.ok) {
      for (const problem of loaded.problems) io.err(formatProblem(problem));
      io.err(
        `invalid: ${path} (${loaded.problems.length} problem${loaded.problems.length === 1 ? '' : 's'})`,
      );
      exitCode = EXIT_FAILED;
      continue;
    }
    const { summary, hash } = loaded.policy;
    const shadow = summary.shadowRules > 0 ? `, ${summary.shadowRules} in shadow mode` : '';
    io.out(`ok: ${path}: ${summary.rules} rules${shadow}, ${summary.tools} catalogue entries, ${hash}`);
  }
  return exitCode;
}

export function testPolicies(path: string, io: CliIo): number {
  let files: string[];
  try {
    files = findPolicyTestFiles(path);
  } catch (error) {
    io.err(`cannot read \`${path}\`: ${describeError(error)}`);
    return EXIT_ERROR;
  }
  if (files.length === 0) {
    io.err(`no policy tests (*.test.yaml) under \`${path}\``);
    return EXIT_ERROR;
  }
  let passed = 0;
  let failed = 0;
  for (const file of files) {
    const result = runPolicyTestFile(file);
    if (result.problems.length > 0) {
      for (const problem of result.problems) io.err(formatProblem(problem));
      failed++;
      continue;
    }
    for (const test of result.cases) {
      if (test.passed) {
        passed++;
        io.out(`PASS ${file}: ${test.name}`);
      } else {
        failed++;
        io.out(`FAIL ${file}: ${test.name}`);
        for (const failure of test.failures) io.out(`     ${failure}`);
      }
    }
  }
  io.out(`${passed} passed, ${failed} failed`);
  return failed > 0 ? EXIT_FAILED : EXIT_OK;
}

/** `reins policy check|test`. */
export function registerPolicyCommands(program: Command, context: CommandContext): void {
  const { io } = context;
  const policy = program.command('policy').description('validate and test policy files');
  policy
    .command('check')
    .description('validate policy files; problems are reported as file:line:column')
    .argument('[paths...]', "policy files or directories (default: the deployment's policy)")
    .option(CONFIG_FLAG, CONFIG_HELP)
    .action((paths: string[], options: { config?: string }) => {
      const given = paths.length > 0 ? paths : deploymentPolicy('policy check', options, io);
      context.exit(given === undefined ? EXIT_ERROR : checkPolicies(given, io));
    });
  policy
    .command('test')
    .description('run policy unit tests (*.test.yaml)')
    .argument('<path>', 'a test file or a directory searched for *.test.yaml')
    .action((path: string) => {
      context.exit(testPolicies(path, io));
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
      context.exit(await runPolicyDiff(options, io));
    });
}

interface PolicyDiffCommandOptions {
  readonly base?: string;
  readonly candidate: string;
  readonly traffic?: string;
  readonly config?: string;
  readonly examples: number;
  readonly json?: boolean;
  readonly allowDrift?: boolean;
}

async function runPolicyDiff(options: PolicyDiffCommandOptions, io: CliIo): Promise<number> {
  let deployment: ReturnType<typeof resolveDeployment>;
  try {
    deployment = resolveDeployment({
      ...(options.config !== undefined ? { config: options.config } : {}),
      ...(options.base !== undefined ? { policy: options.base } : {}),
    });
  } catch (error) {
    io.err(`reins policy diff: ${describeFully(error)}`);
    return EXIT_ERROR;
  }
  if (deployment.policy === undefined) {
    io.err('reins policy diff: give --base, or a configuration that names the policy in force (--config)');
    return EXIT_ERROR;
  }
  if (options.traffic === undefined && deployment.configFile === undefined) {
    io.err(
      'reins policy diff: give --traffic, or the deployment whose log to replay (--config, REINS_CONFIG)',
    );
    return EXIT_ERROR;
  }
  return policyDiff(
    {
      base: deployment.policy,
      candidate: options.candidate,
      ...(options.traffic !== undefined ? { traffic: options.traffic } : {}),
      examples: options.examples,
      json: options.json === true,
      allowDrift: options.allowDrift === true,
    },
    deployment.store,
    io,
  );
}
