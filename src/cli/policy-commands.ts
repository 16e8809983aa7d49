/**
 * @module cli/policy-commands
 * `reins policy check` (validate policy files, report problems at file:line:column) and
 * `reins policy test` (run policy unit tests); `reins policy diff` is cli/policy-diff-command, and the
 * command tree of all three cli/commands/policy.
 */
import { loadPolicy } from '../loader/policy-files.js';
import { formatProblem } from '../policy/policy-problem.js';
import { describeError } from '../spec/errors.js';
import { type CliIo, EXIT_ERROR, EXIT_FAILED, EXIT_OK } from './io.js';

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

export async function testPolicies(path: string, io: CliIo): Promise<number> {
  // the test runner (the decision pipeline) loads for `policy test`, not for every `policy check` in CI
  const { findPolicyTestFiles, runPolicyTestFile } = await import('../loader/policy-test-runner.js');
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
