/**
 * @module test/rollback-gate.test
 * Issue 16, "reversible or approved", end to end through a real `reins gateway` in front of the real
 * server-filesystem and server-memory from npm, with the rule of docs/policy.md (`approve` when
 * `!reversal.reversible`): a call the catalogue declares irreversible, and one nothing says how to
 * undo, are held (the SDK client hears it is waiting; `reins approvals list` shows it) and run once a
 * human approves; a reversible write_file runs at once; a write_file over a binary file (write_file
 * cannot write those bytes back) is held. And a reversible write held by another rule, whose file
 * someone else changes while it waits, is refused when it is released: it would run on a state the
 * approver never saw.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult, Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, present, StopWaiting } from './support/eventually.js';
import {
  callOk,
  type RollbackDeployment,
  startRollbackDeployment,
  textOf,
} from './support/rollback-deployment.js';

const REASON = 'an action that cannot be undone needs a human';

const GATE_POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: reversible-or-approved }
tools:
  - { server: fs, name: "read_*", risk: low, effects: [read] }
  - { server: fs, name: "list_*", risk: low, effects: [read] }
  - { server: fs, name: get_file_info, risk: low, effects: [read] }
  - { server: fs, name: move_file, risk: medium, effects: [write], reversal: { irreversible: moves are final in this deployment } }
  - { server: fs, name: "*", risk: medium, effects: [write] }
  - { server: memory, name: read_graph, risk: low, effects: [read] }
  - { server: memory, name: "*", risk: medium, effects: [write] }
rules:
  - id: gate
    effect: approve
    reason: ${REASON}
    tool: { effects: [write, external, irreversible] }
    when: "!reversal.reversible"
  - id: protected
    effect: approve
    reason: protected files need a human
    tool: { server: fs, name: write_file }
    when: 'args.path.contains("/protected/") && !has(context.rollback)' # a rollback's undo is not held by it
  - { id: work, effect: allow, reason: the agent edits files and notes, tool: { server: [fs, memory] } }
rollback:
  profiles:
    - { profile: server-filesystem, server: fs } # no profile for memory: its writes are undeclared
`;

interface ApprovalLine {
  id: string;
  sessionId: string;
  tool: { server: string; name: string };
  args: Record<string, unknown>;
  reasons: string[];
}

interface IntentLine {
  decisionId: string;
  tool: { server: string; name: string };
  decision: { effect: string };
  reversal?: { kind: string; reason?: string };
}

let running: RollbackDeployment;
let agent: Client;

beforeAll(async () => {
  running = await startRollbackDeployment({
    policy: GATE_POLICY,
    extra: 'limits: { approvalTimeout: 2m }\n',
  });
  agent = await running.connect('gated');
}, 60_000);

afterAll(async () => {
  await running?.close();
});

function pendingApprovals(): ApprovalLine[] {
  return JSON.parse(running.reins('approvals', 'list', '--format', 'json')) as ApprovalLine[];
}

function intentsOf(session: string): IntentLine[] {
  return running.records<IntentLine>(session, 'call-intent');
}

interface HeldCall {
  readonly approval: ApprovalLine;
  readonly progress: Progress[];
  readonly result: Promise<CallToolResult>;
}

/** Starts a call and waits until it is held: the client has heard so, and the approvals list shows it. */
async function held(tool: string, args: Record<string, unknown>): Promise<HeldCall> {
  const progress: Progress[] = [];
  const result = agent.callTool({ name: tool, arguments: args }, undefined, {
    onprogress: (update) => progress.push(update),
    timeout: 100_000,
    resetTimeoutOnProgress: true,
  }) as Promise<CallToolResult>;
  let settled = false;
  void result.finally(() => {
    settled = true;
  });
  const approval = await eventually(
    () => {
      if (settled) throw new StopWaiting(`${tool} was not held: it ended at once`);
      expect(progress.length).toBeGreaterThanOrEqual(1);
      const [server, name] = tool.split('__');
      return present(
        pendingApprovals().find((each) => each.tool.server === server && each.tool.name === name),
        `${tool} is not in the approvals list`,
      );
    },
    { timeoutMs: 30_000, intervalMs: 250, what: `${tool} held for approval` },
  );
  expect(progress[0]?.message).toContain('waiting for human approval');
  return { approval, progress, result };
}

function vote(verdict: 'approve' | 'deny', id: string, reason: string): void {
  running.reins('approvals', verdict, id, '--reason', reason);
}

describe('reversible or approved, through the real gateway', () => {
  it('runs a reversible write_file at once', async () => {
    const path = join(running.work, 'config.yaml');
    writeFileSync(path, 'replicas: 3\n');
    await callOk(agent, 'fs__write_file', { path, content: 'replicas: 5\n' });
    expect(readFileSync(path, 'utf8')).toBe('replicas: 5\n');
    expect(pendingApprovals()).toEqual([]);
    const write = intentsOf('gated').findLast((intent) => intent.tool.name === 'write_file');
    expect(write?.decision.effect).toBe('allow');
    expect(write?.reversal?.kind).toBe('reversible');
  }, 60_000);

  it('holds a tool the catalogue declares irreversible, and runs it once approved', async () => {
    const source = join(running.work, 'draft.txt');
    const destination = join(running.work, 'final.txt');
    writeFileSync(source, 'draft\n');
    const call = await held('fs__move_file', { source, destination });
    expect(call.approval.reasons).toEqual([REASON]);
    expect(call.approval.args).toEqual({ source, destination });
    expect(readFileSync(source, 'utf8')).toBe('draft\n'); // nothing ran while held
    vote('approve', call.approval.id, 'the move is intended');
    const result = await call.result;
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(readFileSync(destination, 'utf8')).toBe('draft\n');
    const intent = intentsOf('gated').find((each) => each.decisionId === call.approval.id);
    expect(intent?.decision.effect).toBe('approve');
    expect(intent?.reversal).toEqual({ kind: 'irreversible', reason: 'moves are final in this deployment' });
  }, 90_000);

  it('holds a tool nothing says how to undo (no profile, no reversal)', async () => {
    const call = await held('memory__create_entities', {
      entities: [{ name: 'release', entityType: 'event', observations: ['friday'] }],
    });
    expect(call.approval.reasons).toEqual([REASON]);
    vote('deny', call.approval.id, 'not without a way back');
    const result = await call.result;
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('Reins refused this call');
    const intent = intentsOf('gated').find((each) => each.decisionId === call.approval.id);
    expect(intent?.decision.effect).toBe('approve');
    expect(intent?.reversal).toBeUndefined(); // undeclared: the intent records no reversal
  }, 90_000);

  it('holds a write_file over a binary file, which write_file cannot write back', async () => {
    const path = join(running.work, 'logo.bin');
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff, 0xfe, 0x00, 0x01, 0xc3]);
    writeFileSync(path, bytes);
    const call = await held('fs__write_file', { path, content: 'not a logo\n' });
    expect(call.approval.reasons).toEqual([REASON]);
    const intent = intentsOf('gated').find((each) => each.decisionId === call.approval.id);
    expect(intent?.reversal?.kind).toBe('unavailable');
    expect(intent?.reversal?.reason).toContain('not UTF-8');
    vote('deny', call.approval.id, 'keep the logo');
    expect((await call.result).isError).toBe(true);
    expect(readFileSync(path)).toEqual(bytes);
  }, 90_000);

  it('refuses a held reversible write on release when its file was changed meanwhile by someone else', async () => {
    const path = join(running.work, 'protected/settings.yaml');
    await callOk(agent, 'fs__create_directory', { path: join(running.work, 'protected') });
    writeFileSync(path, 'mode: safe\n');
    const call = await held('fs__write_file', { path, content: 'mode: reckless\n' });
    expect(call.approval.reasons).toEqual(['protected files need a human']);
    const intent = intentsOf('gated').find((each) => each.decisionId === call.approval.id);
    expect(intent?.reversal?.kind).toBe('reversible'); // held by the other rule, not the gate
    writeFileSync(path, 'mode: safe\nowner: someone else\n'); // a human edits the file meanwhile
    vote('approve', call.approval.id, 'looks fine as shown');
    const result = await call.result;
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe(
      'Reins refused this call: the state this call changes was captured when it was held, and it changed before it was released: it did not run; ask again',
    );
    expect(readFileSync(path, 'utf8')).toBe('mode: safe\nowner: someone else\n');
  }, 90_000);

  it('runs a held reversible write on release when its file is as it was', async () => {
    const path = join(running.work, 'protected/limits.yaml');
    writeFileSync(path, 'max: 1\n');
    const call = await held('fs__write_file', { path, content: 'max: 2\n' });
    vote('approve', call.approval.id, 'fine');
    const result = await call.result;
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(readFileSync(path, 'utf8')).toBe('max: 2\n');
  }, 90_000);

  it('shows, in the plan of a rollback, the approved irreversible call as one that cannot be undone', () => {
    const plan = running.rollback(['--session', 'gated', '--dry-run']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(
      /fs\/move_file: cannot-undo \(irreversible: moves are final in this deployment\)/,
    );
    expect(plan.stdout).toMatch(/fs\/write_file: undo/);
  }, 60_000);

  it('rolls the session back without holding its compensations for a human (the operator asked for them)', async () => {
    const rollback = running.startRollback(['--session', 'gated', '--reason', 'undo the gated run']);
    try {
      const ended = await eventually(
        async () => {
          const held = pendingApprovals().find((each) => each.sessionId === 'reins.rollback/gated');
          if (held !== undefined)
            throw new StopWaiting(
              `the compensation \`${held.tool.server}/${held.tool.name}\` of the rollback was held for approval (${held.reasons.join('; ')}): the rollback waits for a human until the approval expires`,
            );
          return present(rollback.child.exitCode ?? undefined, 'the rollback is still running');
        },
        { timeoutMs: 60_000, intervalMs: 250, what: () => `the rollback: ${rollback.output().stderr}` },
      );
      expect(ended, rollback.output().stderr + rollback.output().stdout).toBe(0);
    } finally {
      rollback.child.kill('SIGKILL');
      await rollback.exited;
    }
    expect(readFileSync(join(running.work, 'config.yaml'), 'utf8')).toBe('replicas: 3\n');
    expect(readFileSync(join(running.work, 'final.txt'), 'utf8')).toBe('draft\n'); // irreversible: stays
  }, 90_000);
});
