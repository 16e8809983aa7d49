/**
 * @module loader/policy-test-runner
 * Runs policy unit tests (`*.test.yaml`, kind PolicyTest): loads the policy they name, plays each
 * test's calls in one session through the one decision entry point (policy/decide-call: the rules,
 * the redaction screening of the arguments, the counter reservations) and compares each decision with
 * the expectation. As in the harness, a call that is let through (approve = assume approved) joins the
 * history and counts towards limits. The session's past a case states — earlier calls, outputs the
 * agent saw, the user's request — is set up first, the way the harness and the recorded traffic of
 * the audit log build it (policy/recorded-traffic). A call sees the reversibility its step states
 * (`reversal:`, what the captures would show), else what the policy declares for its tool.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { SessionDataflow } from '../dataflow/session-dataflow.js';
import { type CallDecision, decideCall } from '../policy/decide-call.js';
import { observeOutput } from '../policy/observe-output.js';
import type { PolicyProblem } from '../policy/policy-problem.js';
import type { PreparedPolicy } from '../policy/prepared-policy.js';
import { WindowCounters } from '../policy/window-counters.js';
import { YamlSource } from '../policy/yaml-source.js';
import type { Decision, FlowFinding } from '../spec/decision.js';
import { describeError } from '../spec/errors.js';
import {
  type Expectation,
  type PolicyTestCase,
  type PolicyTestFile,
  PolicyTestFileSchema,
} from '../spec/policy-test.js';
import type { ReversalKind } from '../spec/reversal.js';
import type { HistoryEntry, SessionStatus, ToolCall, ToolRef } from '../spec/tool-call.js';
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
  const unknown = uncataloguedFacts(parsed.source, loaded.policy, validated.value);
  if (unknown.length > 0) return { file, problems: unknown, cases: [] };
  return { file, problems: [], cases: validated.value.tests.map((test) => runCase(loaded.policy, test)) };
}

/**
 * Stated facts about tools the policy's catalogue does not know: such a call could not have run under
 * this policy, and such an output would not be indexed — a test relying on them would test nothing.
 */
function uncataloguedFacts(
  source: YamlSource,
  policy: PreparedPolicy,
  tests: PolicyTestFile,
): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const check = (tool: ToolRef, path: (string | number)[], consequence: string) => {
    if (policy.toolFacts(tool) !== undefined) return;
    const name = `${tool.server}/${tool.name}`;
    problems.push({
      file: source.file,
      ...source.locate([...path, 'tool']),
      message: `\`${[...path, 'tool'].join('.')}\`: \`${name}\` is not in the policy's catalogue: ${consequence}`,
    });
  };
  for (const [index, test] of tests.tests.entries()) {
    for (const [entry, past] of test.history.entries())
      check(past.tool, ['tests', index, 'history', entry], 'no session under this policy could have made it');
    for (const [entry, seen] of (test.seen ?? []).entries())
      check(seen.tool, ['tests', index, 'seen', entry], 'its output would not be indexed');
  }
  return problems;
}

function runCase(policy: PreparedPolicy, test: PolicyTestCase): TestCaseResult {
  const failures: string[] = [];
  const session = new TestSession(policy, test);
  let now = test.start;
  for (const [index, step] of test.steps.entries()) {
    now += step.advance ?? 0;
    const decided = session.decide(step.call, now, test.session?.status ?? 'active', step.reversal);
    const label =
      test.steps.length > 1 ? `step ${index + 1} (${step.call.tool.server}/${step.call.tool.name}): ` : '';
    failures.push(...compare(step.expect, decided.decision).map((failure) => `${label}${failure}`));
    // As in the harness: what is let through (approve = assume approved) runs and is remembered.
    session.letThrough(decided, now);
  }
  return { name: test.name, passed: failures.length === 0, failures };
}

/**
 * The session one test case plays in. Its stated past is set up first: the user's request and the
 * outputs the agent saw go into the data flow (through observeOutput, so the catalogue decides what is
 * trusted, labelled or a tenant's, as in the harness); the earlier calls join the history in time
 * order, each decided at its time so that it counts towards limits as the policy counts a call it lets
 * through (the recorded traffic of the audit log is rebuilt the same way).
 */
class TestSession {
  private readonly history: HistoryEntry[] = [];
  private readonly counters = new WindowCounters();
  private readonly dataflow = new SessionDataflow();
  private readonly startedAt: number;
  private readonly labels: readonly string[];

  constructor(
    private readonly policy: PreparedPolicy,
    test: PolicyTestCase,
  ) {
    const past = [...test.history].sort((left, right) => left.at - right.at);
    this.startedAt = Math.min(test.start, past[0]?.at ?? test.start);
    this.labels = test.session?.labels ?? [];
    if (test.userInput !== undefined) this.dataflow.recordUserInput(test.userInput);
    for (const [index, seen] of (test.seen ?? []).entries()) {
      const source = { decisionId: `seen-${index + 1}`, tool: seen.tool, args: seen.args };
      observeOutput(policy, this.dataflow, source, seen.output);
    }
    // a session's calls are its agent's: the stated ones are decided with the first step's principal
    const first = test.steps[0]?.call;
    if (first === undefined) return;
    for (const entry of past) {
      // the session was active when it made them
      const call: ToolCall = { ...first, tool: entry.tool, args: entry.args, context: {} };
      const decided = this.decide(call, entry.at, 'active');
      this.reserve(decided, entry.at);
      // it happened, whatever this policy says of it: it joins the history as recorded (screened)
      this.history.push({ ...entry, args: decided.call.args });
    }
  }

  /** Decides `call` at `now` against the session as it stands (`reversal`: as stated, else declared). */
  decide(call: ToolCall, now: number, status: SessionStatus, reversal?: ReversalKind): CallDecision {
    const session = {
      id: call.sessionId,
      status,
      startedAt: this.startedAt,
      history: this.history,
      labels: this.labels,
    };
    const state = { session, counters: this.counters, dataflow: this.dataflow };
    if (reversal === undefined) return decideCall(this.policy, { call, state, now });
    const facts = { kind: reversal, reversible: reversal === 'reversible' };
    return decideCall(this.policy, { call, state, now, reversal: facts });
  }

  /** A call let through (approve: assume approved) runs successfully: it joins the history and counts. */
  letThrough(decided: CallDecision, now: number): void {
    if (decided.decision.effect === 'deny') return;
    this.reserve(decided, now);
    const { tool, args } = decided.call;
    this.history.push({ tool, args, at: now, outcome: 'ok' });
  }

  private reserve(decided: CallDecision, now: number): void {
    if (decided.decision.effect === 'deny') return;
    for (const count of decided.counts) this.counters.reserve(count.key, now, count.amount);
  }
}

function compare(expected: Expectation, decision: Decision): string[] {
  const failures: string[] = [];
  const got = `got ${decision.effect} (${decision.reasons.join('; ')})`;
  if (decision.effect !== expected.effect) failures.push(`expected ${expected.effect}, ${got}`);
  if ('rules' in expected && expected.rules) {
    const missing = expected.rules.filter((rule) => !decision.matchedRules.includes(rule));
    if (missing.length > 0) {
      failures.push(
        `expected rules ${quoted(missing)} to match; matched: [${decision.matchedRules.join(', ')}]`,
      );
    }
  }
  if ('decidedBy' in expected && expected.decidedBy) {
    const missing = expected.decidedBy.filter((id) => !decision.decidedBy.includes(id));
    if (missing.length > 0) {
      failures.push(
        `expected ${quoted(missing)} to have decided the effect; decided by: [${decision.decidedBy.join(', ')}]`,
      );
    }
  }
  if ('flows' in expected && expected.flows) {
    const findings = decision.flows ?? [];
    const missing = expected.flows.filter((id) => !findings.some((finding) => finding.ruleId === id));
    if (missing.length > 0) {
      const found = findings.length > 0 ? `[${findings.map(describeFinding).join('; ')}]` : 'none';
      failures.push(`expected flow findings of ${quoted(missing)}; found: ${found}`);
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

/** `payee-from-untrusted-text on \`recipient\` (untrusted, from seen-1 bank/read_file)` */
function describeFinding(finding: FlowFinding): string {
  const from = finding.source ? `, from ${finding.source.decisionId} ${finding.source.tool}` : '';
  return `${finding.ruleId} on \`${finding.arg}\` (${finding.kind}${from})`;
}

function quoted(ids: readonly string[]): string {
  return `\`${ids.join('`, `')}\``;
}
