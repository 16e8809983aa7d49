/**
 * @module loader/policy-test-runner
 * Runs policy unit tests (`*.test.yaml`, kind PolicyTest): loads the policy they name, plays each
 * test's calls through the decision engine in one session (calls that are let through join the
 * history and count towards limits, as in the harness) and compares each decision with the expectation.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { PolicyProblem } from '../policy/policy-problem.js';
import type { PreparedPolicy } from '../policy/prepared-policy.js';
import { WindowCounters } from '../policy/window-counters.js';
import { YamlSource } from '../policy/yaml-source.js';
import type { Decision } from '../spec/decision.js';
import { describeError } from '../spec/errors.js';
import {
  DEFAULT_TEST_TIME,
  type Expectation,
  type PolicyTestCase,
  PolicyTestFileSchema,
} from '../spec/policy-test.js';
import type { HistoryEntry } from '../spec/tool-call.js';
import { loadPolicy } from './policy-files.js';

export interface TestCaseResult {
  readonly name: string;
  readonly passed: boolean;
  readonly failures: readonly string[];
}

export interface TestFileResult {
  readonly file: string;
  /** Problems with the test file or the policy it names; when present, no case ran. */
  readonly problems: readonly PolicyProblem[];
  readonly cases: readonly TestCaseResult[];
}

const TEST_FILE = /\.test\.ya?ml$/;

/** The test files at `path`: the file itself, or every `*.test.yaml` under a directory (recursively). */
export function findPolicyTestFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  const found: string[] = [];
  for (const entry of readdirSync(path, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) found.push(...findPolicyTestFiles(full));
    else if (TEST_FILE.test(entry.name)) found.push(full);
  }
  return found;
}

export function runPolicyTestFile(file: string): TestFileResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return { file, problems: [{ file, line: 0, column: 0, message: describeError(error) }], cases: [] };
  }
  const parsed = YamlSource.parse(file, text);
  if (parsed.problems.length > 0) return { file, problems: parsed.problems, cases: [] };
  const validated = parsed.source.validate(PolicyTestFileSchema);
  if (validated.value === undefined) return { file, problems: validated.problems, cases: [] };
  const loaded = loadPolicy(resolve(dirname(file), validated.value.policy));
  if (!loaded.ok) return { file, problems: loaded.problems, cases: [] };
  return { file, problems: [], cases: validated.value.tests.map((test) => runCase(loaded.policy, test)) };
}

function runCase(policy: PreparedPolicy, test: PolicyTestCase): TestCaseResult {
  const failures: string[] = [];
  let now = Date.parse(test.now ?? DEFAULT_TEST_TIME);
  const startedAt = now;
  const history: HistoryEntry[] = [];
  const counters = new WindowCounters();
  for (const [index, step] of test.steps.entries()) {
    now += step.advance ?? 0;
    const session = {
      id: step.call.sessionId,
      status: test.session?.status ?? 'active',
      startedAt,
      history,
      labels: test.session?.labels ?? [],
    };
    const decision = policy.evaluate({ call: step.call, session, counters, now });
    const label =
      test.steps.length > 1 ? `step ${index + 1} (${step.call.tool.server}/${step.call.tool.name}): ` : '';
    failures.push(...compare(step.expect, decision).map((failure) => `${label}${failure}`));
    // As in the harness: what is let through (approve = assume approved) runs and is remembered.
    if (decision.effect !== 'deny') {
      for (const obligation of decision.obligations) {
        if (obligation.kind === 'count') counters.reserve(obligation.key, now, obligation.amount);
      }
      history.push({ tool: step.call.tool, args: step.call.args, at: now, outcome: 'ok' });
    }
  }
  return { name: test.name, passed: failures.length === 0, failures };
}

function compare(expected: Expectation, decision: Decision): string[] {
  const failures: string[] = [];
  const got = `got ${decision.effect} (${decision.reasons.join('; ')})`;
  if (decision.effect !== expected.effect) failures.push(`expected ${expected.effect}, ${got}`);
  if ('rules' in expected && expected.rules) {
    const missing = expected.rules.filter((rule) => !decision.matchedRules.includes(rule));
    if (missing.length > 0) {
      failures.push(
        `expected rules \`${missing.join('`, `')}\` to match; matched: [${decision.matchedRules.join(', ')}]`,
      );
    }
  }
  if ('shadow' in expected && expected.shadow && decision.shadow?.effect !== expected.shadow) {
    failures.push(
      `expected shadow effect ${expected.shadow}, got ${decision.shadow?.effect ?? 'no shadow verdict'}`,
    );
  }
  if ('reason' in expected && expected.reason) {
    const text = expected.reason;
    if (!decision.reasons.some((reason) => reason.includes(text))) {
      failures.push(`expected a reason containing \`${text}\`, ${got}`);
    }
  }
  return failures;
}
