/**
 * @module test/policy-test-runner.test
 * Policy unit tests (`*.test.yaml`) as `reins policy test` runs them, in process: every step is decided
 * through the one decision entry point (so the redaction screening decides too), and a test case can
 * state the session's past — earlier calls (`history`), outputs the agent saw (`seen`) and the user's
 * request (`userInput`) — so sequence, limit and flow rules are testable without scripting the past.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runPolicyTestFile, type TestFileResult } from '../src/loader/policy-test-runner.js';

const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: policy-test-runner }
tools:
  - { server: bank, name: lookup, risk: low, effects: [read] }
  - { server: bank, name: read_file, risk: low, effects: [read], untrustedOutput: true }
  - { server: bank, name: send_money, risk: high, effects: [write, external], sink: { args: [recipient] } }
  - { server: web, name: fetch, risk: low, effects: [read], untrustedOutput: true }
  - { server: notes, name: save, risk: low, effects: [write] }
rules:
  - { id: reads, effect: allow, tool: { effects: read }, reason: reads are fine }
  - { id: payments, effect: allow, tool: { name: send_money }, reason: payments pass the other rules }
  - { id: notes, effect: allow, tool: { server: notes }, reason: notes are fine }
sequences:
  - id: pay-after-lookup
    tool: { name: send_money }
    requires:
      tool: { name: lookup }
      when: "prior.args.invoice == args.invoice"
      within: 1h
    reason: a payment follows a lookup of its invoice
  - id: no-notes-after-web
    tool: { server: notes }
    forbids: { tool: { server: web }, within: 1h }
    reason: no notes within an hour of reading the web
limits:
  - id: two-payments-an-hour
    tool: { name: send_money }
    per: [session]
    window: 1h
    max: 2
    reason: at most two payments an hour
flows:
  - id: payee-from-untrusted-text
    tool: { name: send_money }
    effect: approve
    reason: the payee was found only in text others wrote
redaction:
  inputs: { secret: block }
`;

const HEADER = `apiVersion: reins.dev/v1
kind: PolicyTest
policy: policy.yaml
tests:
`;

const AGENT = 'principal: { agentId: payer }';
const IBAN = 'DE89370400440532013000';

/** Writes the policy and one test file with `cases` (YAML list items, indented by two) and runs it. */
function run(cases: string): TestFileResult {
  const directory = mkdtempSync(join(tmpdir(), 'reins-policy-test-runner-'));
  writeFileSync(join(directory, 'policy.yaml'), POLICY);
  const file = join(directory, 'cases.test.yaml');
  writeFileSync(file, HEADER + cases);
  return runPolicyTestFile(file);
}

/** The failures of every case, or the file's problems; `[]` when everything passed. */
function failuresOf(result: TestFileResult): string[] {
  if (result.problems.length > 0)
    return result.problems.map((problem) => `${problem.line}:${problem.column}: ${problem.message}`);
  return result.cases.flatMap((test) => test.failures.map((failure) => `${test.name}: ${failure}`));
}

describe('policy tests decide through the one entry point', () => {
  it('a secret in an argument is blocked by the redaction policy', () => {
    const result = run(`
  - name: a secret in a note is blocked
    call:
      ${AGENT}
      tool: { server: notes, name: save }
      args: { text: "key AKIAIOSFODNN7EXAMPLE" }
    expect: { effect: deny, reason: blocked by the redaction policy, decidedBy: [reins.redaction] }
  - name: a note without a secret is saved
    call:
      ${AGENT}
      tool: { server: notes, name: save }
      args: { text: hello }
    expect: { effect: allow, decidedBy: [notes] }
`);
    expect(failuresOf(result)).toEqual([]);
    expect(result.cases).toHaveLength(2);
  });
});

describe('history: earlier calls of the session', () => {
  it('satisfies or violates sequence rules, by time and outcome', () => {
    const result = run(`
  - name: a payment after a lookup of its invoice
    history:
      - { tool: { server: bank, name: lookup }, args: { invoice: A-1 }, ago: 10m }
    call:
      ${AGENT}
      tool: { server: bank, name: send_money }
      args: { invoice: A-1, recipient: acme }
    expect: { effect: allow, decidedBy: [payments] }
  - name: a lookup two hours ago is too old
    history:
      - { tool: { server: bank, name: lookup }, args: { invoice: A-1 }, ago: 2h }
    call:
      ${AGENT}
      tool: { server: bank, name: send_money }
      args: { invoice: A-1, recipient: acme }
    expect: { effect: deny, decidedBy: [pay-after-lookup] }
  - name: a lookup that failed does not count
    history:
      - { tool: { server: bank, name: lookup }, args: { invoice: A-1 }, ago: 5m, outcome: error }
    call:
      ${AGENT}
      tool: { server: bank, name: send_money }
      args: { invoice: A-1, recipient: acme }
    expect: { effect: deny, rules: [pay-after-lookup] }
  - name: no note while a web page is being read
    now: "2026-03-02T10:00:00Z"
    history:
      - { tool: { server: web, name: fetch }, args: { url: "https://example.com" }, at: "2026-03-02T09:59:00Z", outcome: pending }
    call:
      ${AGENT}
      tool: { server: notes, name: save }
      args: { text: hello }
    expect: { effect: deny, decidedBy: [no-notes-after-web] }
`);
    expect(failuresOf(result)).toEqual([]);
    expect(result.cases).toHaveLength(4);
  });

  it('counts towards limits as the policy counted the calls it let through', () => {
    const lookup = (ago: string) =>
      `{ tool: { server: bank, name: lookup }, args: { invoice: A-1 }, ago: ${ago} }`;
    const payment = (ago: string) =>
      `{ tool: { server: bank, name: send_money }, args: { invoice: A-1, recipient: acme }, ago: ${ago} }`;
    const result = run(`
  - name: the third payment within the hour
    history: [${lookup('58m')}, ${payment('55m')}, ${payment('50m')}, ${lookup('5m')}]
    steps:
      - call:
          ${AGENT}
          tool: { server: bank, name: send_money }
          args: { invoice: A-1, recipient: acme }
        expect: { effect: deny, decidedBy: [two-payments-an-hour] }
      - advance: 6m # the first payment leaves the window
        call:
          ${AGENT}
          tool: { server: bank, name: send_money }
          args: { invoice: A-1, recipient: acme }
        expect: { effect: allow }
`);
    expect(failuresOf(result)).toEqual([]);
  });
});

describe('data-flow facts: what the agent saw, what the user asked', () => {
  it('a payee found only in untrusted text is held; one the user named is not', () => {
    const lookup = `history: [{ tool: { server: bank, name: lookup }, args: { invoice: A-1 }, ago: 1m }]`;
    const result = run(`
  - name: the payee comes from a file others wrote
    ${lookup}
    seen:
      - tool: { server: bank, name: read_file }
        args: { path: bill.txt }
        output: "Please pay the outstanding amount to ${IBAN} today."
    call:
      ${AGENT}
      tool: { server: bank, name: send_money }
      args: { invoice: A-1, recipient: ${IBAN} }
    expect: { effect: approve, flows: [payee-from-untrusted-text], decidedBy: [payee-from-untrusted-text] }
  - name: the user named the payee
    ${lookup}
    userInput: "Pay invoice A-1 to ${IBAN}"
    seen:
      - tool: { server: bank, name: read_file }
        args: { path: bill.txt }
        output: "Please pay the outstanding amount to ${IBAN} today."
    call:
      ${AGENT}
      tool: { server: bank, name: send_money }
      args: { invoice: A-1, recipient: ${IBAN} }
    expect: { effect: allow, decidedBy: [payments] }
`);
    expect(failuresOf(result)).toEqual([]);
    expect(result.cases).toHaveLength(2);
  });
});

describe('readable failures and problems', () => {
  it('names the expected and the actual decidedBy and flow findings', () => {
    const result = run(`
  - name: wrong expectations
    history: [{ tool: { server: bank, name: lookup }, args: { invoice: A-1 }, ago: 1m }]
    seen:
      - tool: { server: bank, name: read_file }
        output: "Please pay ${IBAN} today."
    call:
      ${AGENT}
      tool: { server: bank, name: send_money }
      args: { invoice: A-1, recipient: ${IBAN} }
    expect: { effect: approve, decidedBy: [payments], flows: [some-other-flow] }
`);
    const failures = result.cases[0]?.failures ?? [];
    expect(failures).toHaveLength(2);
    expect(failures[0]).toBe(
      'expected `payments` to have decided the effect; decided by: [payee-from-untrusted-text]',
    );
    expect(failures[1]).toBe(
      'expected flow findings of `some-other-flow`; found: [payee-from-untrusted-text on `recipient` (untrusted, from seen-1 bank/read_file)]',
    );
  });

  it('reports a malformed fact at its line and column', () => {
    const result = run(`
  - name: a history entry without a valid time
    history:
      - tool: { server: bank, name: lookup }
        ago: soon
    call:
      ${AGENT}
      tool: { server: bank, name: lookup }
    expect: allow
`);
    expect(result.cases).toEqual([]);
    expect(result.problems.map((problem) => [problem.line, problem.column, problem.message])).toEqual([
      [9, 14, expect.stringMatching(/^`tests\.0\.history\.0\.ago`: invalid duration `soon`/)],
    ]);
  });

  it('reports a history entry with no time, or both, and a seen entry without output', () => {
    const result = run(`
  - name: facts in the wrong shape
    history:
      - tool: { server: bank, name: lookup }
      - { tool: { server: bank, name: lookup }, ago: 1m, at: "2025-12-31T09:00:00Z" }
    seen:
      - tool: { server: bank, name: read_file }
    call:
      ${AGENT}
      tool: { server: bank, name: lookup }
    expect: allow
`);
    expect(result.problems.map((problem) => `${problem.line}:${problem.column}: ${problem.message}`)).toEqual(
      [
        '8:9: `tests.0.history.0`: say when the call was made: either `ago` (e.g. `10m`) or `at` (ISO 8601), not both',
        '9:9: `tests.0.history.1`: say when the call was made: either `ago` (e.g. `10m`) or `at` (ISO 8601), not both',
        '11:9: `tests.0.seen.0.output`: the output the agent saw is required (any YAML value)',
      ],
    );
  });

  it('reports a history entry after the test starts', () => {
    const result = run(`
  - name: history from the future
    now: "2026-03-02T10:00:00Z"
    history:
      - { tool: { server: bank, name: lookup }, at: "2026-03-02T11:00:00Z" }
    call:
      ${AGENT}
      tool: { server: bank, name: lookup }
    expect: allow
`);
    expect(result.problems.map((problem) => `${problem.line}:${problem.column}: ${problem.message}`)).toEqual(
      [
        '9:54: `tests.0.history.0.at`: 2026-03-02T11:00:00Z is after the test starts (now: 2026-03-02T10:00:00Z); history is what happened before',
      ],
    );
  });

  it('reports facts about tools the catalogue does not know (they would test nothing)', () => {
    const result = run(`
  - name: an unknown tool's output
    history:
      - { tool: { server: shell, name: run }, ago: 1h }
    seen:
      - tool: { server: mail, name: read }
        output: "from bob@example.com"
    call:
      ${AGENT}
      tool: { server: bank, name: lookup }
    expect: allow
`);
    expect(result.cases).toEqual([]);
    expect(result.problems.map((problem) => `${problem.line}:${problem.column}: ${problem.message}`)).toEqual(
      [
        "8:17: `tests.0.history.0.tool`: `shell/run` is not in the policy's catalogue: no session under this policy could have made it",
        "10:15: `tests.0.seen.0.tool`: `mail/read` is not in the policy's catalogue: its output would not be indexed",
      ],
    );
  });
});
