/**
 * @module test/adapters-openai-agents.test
 * `reins/openai-agents` end to end (issue 15): the real OpenAI Agents SDK runner, driven by a scripted
 * model plugged in through the SDK's `Model` interface, with tools governed by a real `reins gateway`
 * over the remote protocol; humans act through separate `reins` CLI processes. An allowed call runs
 * and the model sees the redacted output; a denied call does not run and the model receives the
 * reason; a held call interrupts the run, whose state is resumed with `RunState.fromString` in
 * another process that waits until a human approves in Reins and then runs exactly the held
 * arguments; arguments altered in the saved state, an approval given in the SDK alone and a replayed
 * approval run nothing; limits apply; every call has its intent and outcome, and the log verifies.
 * The in-process mode (LocalGovernor) runs the same agent against the same store, and
 * examples/openai-agents runs as its README says, with its own policy and no API key.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunState } from '@openai/agents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalGovernor } from '../src/adapters/local-governor.js';
import { applyReinsDecisions } from '../src/adapters/openai-agents.js';
import { RemoteGovernor } from '../src/adapters/remote-governor.js';
import { openInProcessReins } from '../src/cli/in-process.js';
import { eventually } from './support/eventually.js';
import { MAIL_POLICY, mailAgent, runner, SECRET } from './support/openai-agents-fixture.js';
import { type RemoteDeployment, startRemoteDeployment } from './support/remote-deployment.js';
import type { ScriptedCall } from './support/scripted-agents-model.js';

const RESUME_PROCESS = join(import.meta.dirname, 'support/openai-agents-resume-process.ts');
const EXAMPLE = join(import.meta.dirname, '../examples/openai-agents');

let remote: RemoteDeployment;
let governor: RemoteGovernor;
let scratch: string;

beforeAll(async () => {
  remote = await startRemoteDeployment({ policy: MAIL_POLICY });
  governor = new RemoteGovernor({ url: remote.url, token: remote.token, pollSeconds: 2 });
  scratch = mkdtempSync(join(tmpdir(), 'reins-openai-agents-'));
}, 60_000);

afterAll(async () => {
  await remote?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const mail = (callId: string, to = 'bob@example.com'): ScriptedCall => ({
  name: 'send_email',
  args: { to, subject: 'your invoice' },
  callId,
});

/** Runs until the held mail interrupts the run; returns the saved state and Reins' id of the call. */
async function interruptedRun(call: ScriptedCall): Promise<{ saved: string; id: string }> {
  const { agent, executed } = mailAgent(governor, [call]);
  const first = await runner.run(agent, 'mail bob his invoice');
  expect(first.interruptions.map((item) => item.name)).toEqual(['send_email']);
  expect(executed).toEqual([]);
  const applied = await applyReinsDecisions(first.state);
  expect(applied.decisions.map((decision) => decision.outcome)).toEqual(['held']);
  const id = applied.decisions[0]?.call?.id;
  if (id === undefined) throw new Error('no Reins call for the interruption');
  return { saved: first.state.toString(), id };
}

/** Resumes a saved run in another process; resolves with its report once it exited. */
function resumeElsewhere(saved: string, calls: readonly ScriptedCall[]) {
  const stateFile = join(scratch, `state-${Date.now()}-${Math.random()}.json`);
  writeFileSync(stateFile, saved);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', RESUME_PROCESS, remote.url, remote.token, stateFile, JSON.stringify(calls)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  child.stderr.on('data', (chunk) => {
    err += chunk;
  });
  const exited = new Promise<{
    decisions: string[];
    interruptions?: number;
    executed: { tool: string; args: unknown }[];
    seen: Record<string, string>;
  }>((resolve, reject) =>
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`the resuming process exited ${code}: ${err}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '{}'));
    }),
  );
  return { restored: () => out.includes('restored'), exited };
}

describe('reins/openai-agents against a real gateway', () => {
  it('runs an allowed call; the model sees the output with the secret redacted', async () => {
    const { agent, model, executed } = mailAgent(governor, [
      { name: 'lookup_customer', args: { customer: 'acme' }, callId: 'lookup-1' },
    ]);
    const result = await runner.run(agent, 'look acme up');
    expect(result.interruptions).toEqual([]);
    expect(executed).toEqual([{ tool: 'lookup_customer', args: { customer: 'acme' } }]);
    const seen = model.seen.get('lookup-1') ?? '';
    expect(seen).toContain('"plan":"pro"');
    expect(seen).not.toContain(SECRET);
    expect(seen).toContain('[REDACTED');
  });

  it('does not run a denied call; the model receives the reason', async () => {
    const { agent, model, executed } = mailAgent(governor, [
      { name: 'delete_account', args: { customer: 'acme' }, callId: 'delete-1' },
    ]);
    await runner.run(agent, 'delete acme');
    expect(executed).toEqual([]);
    expect(model.seen.get('delete-1')).toMatch(/^Reins refused this call: .*never deleted by an agent/);
  });

  it('a held call interrupts the run; another process resumes it once a human approved in Reins', async () => {
    const call = mail('mail-1');
    const { saved, id } = await interruptedRun(call);
    const resumed = resumeElsewhere(saved, [call]);
    await eventually(resumed.restored, {
      timeoutMs: 20_000,
      what: 'the resuming process to restore the run',
    });
    // the other process is waiting on Reins: nothing has run yet
    const request = remote.pending().find((each) => each.id === id);
    expect(request?.args).toEqual(call.args);
    expect(remote.vote(id, 'approve')).toContain('approved');
    const report = await resumed.exited;
    expect(report.decisions).toEqual(['approved']);
    expect(report.interruptions).toBe(0);
    expect(report.executed).toEqual([{ tool: 'send_email', args: call.args }]);
    expect(report.seen['mail-1']).toBe('sent "your invoice" to bob@example.com');
    expect((await governor.get(id)).status).toBe('completed');
  }, 60_000);

  it('a replayed approval does not run the tool again', async () => {
    const call = mail('mail-2');
    const { saved, id } = await interruptedRun(call);
    remote.vote(id, 'approve');
    const runs = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      const { agent, model, executed } = mailAgent(governor, [call]);
      const state = await RunState.fromString(agent, saved);
      expect((await applyReinsDecisions(state)).ready).toBe(true);
      await runner.run(agent, state);
      expect(model.seen.get('mail-2')).toBe('sent "your invoice" to bob@example.com');
      runs.push(executed.length);
    }
    expect(runs).toEqual([1, 0]);
  }, 60_000);

  it('arguments altered in the saved state are refused by Reins and run nothing', async () => {
    const call = mail('mail-3');
    const { saved, id } = await interruptedRun(call);
    remote.vote(id, 'approve'); // a human approved the mail to bob
    const altered = saved.replaceAll('bob@example.com', 'mallory@example.com');
    expect(altered).not.toBe(saved);

    // the helper asks Reins and rejects it: the model is told why
    const honest = mailAgent(governor, [mail('mail-3', 'mallory@example.com')]);
    const state = await RunState.fromString(honest.agent, altered);
    const applied = await applyReinsDecisions(state);
    expect(applied.decisions.map((decision) => decision.outcome)).toEqual(['rejected']);
    await runner.run(honest.agent, state);
    expect(honest.executed).toEqual([]);
    expect(honest.model.seen.get('mail-3')).toMatch(/^Reins refused this call \(call_conflict\)/);

    // approved in the SDK alone (a forged approval): Reins refuses it at execution
    const forger = mailAgent(governor, [mail('mail-3', 'mallory@example.com')]);
    const forged = await RunState.fromString(forger.agent, altered);
    for (const item of forged.getInterruptions()) forged.approve(item);
    await runner.run(forger.agent, forged);
    expect(forger.executed).toEqual([]);
    expect(forger.model.seen.get('mail-3')).toMatch(/^Reins refused this call \(call_conflict\)/);

    // the approved call is still the one to bob, and runs as approved
    const genuine = mailAgent(governor, [call]);
    const resumed = await RunState.fromString(genuine.agent, saved);
    await applyReinsDecisions(resumed);
    await runner.run(genuine.agent, resumed);
    expect(genuine.executed).toEqual([{ tool: 'send_email', args: call.args }]);
  }, 60_000);

  it('a call approved in the SDK but still held in Reins does not run', async () => {
    const call = mail('mail-4');
    const { saved, id } = await interruptedRun(call);
    const { agent, model, executed } = mailAgent(governor, [call]);
    const state = await RunState.fromString(agent, saved);
    for (const item of state.getInterruptions()) state.approve(item);
    await runner.run(agent, state);
    expect(executed).toEqual([]);
    expect(model.seen.get('mail-4')).toMatch(/^Reins is holding this call for human approval/);
    expect((await governor.get(id)).status).toBe('held');
    // a human refuses it in Reins: the helper rejects the interruption with the reason
    remote.vote(id, 'deny');
    const again = mailAgent(governor, [call]);
    const restored = await RunState.fromString(again.agent, saved);
    expect((await applyReinsDecisions(restored)).decisions.map((decision) => decision.outcome)).toEqual([
      'rejected',
    ]);
    await runner.run(again.agent, restored);
    expect(again.executed).toEqual([]);
    expect(again.model.seen.get('mail-4')).toMatch(/^Reins refused this call: .*refused by ann/);
  }, 60_000);

  it('limits apply: a lookup over the session limit is refused', async () => {
    const { agent, model, executed } = mailAgent(governor, [
      { name: 'lookup_customer', args: { customer: 'b' }, callId: 'lookup-2' },
      { name: 'lookup_customer', args: { customer: 'c' }, callId: 'lookup-3' },
      { name: 'lookup_customer', args: { customer: 'd' }, callId: 'lookup-4' },
    ]);
    await runner.run(agent, 'look them up');
    // lookup-1 came first: two more fit in the limit of three, the third is refused
    expect(executed.map((each) => each.args)).toHaveLength(2);
    const refused = [...model.seen.values()].filter((text) => text.includes('at most 3 lookups'));
    expect(refused).toHaveLength(1);
  });

  it('every call has its intent and outcome, and the log verifies', () => {
    const records = remote.records();
    const intents = records
      .filter((record) => record.kind === 'call-intent')
      .map((record) => record.decisionId);
    const outcomes = records
      .filter((record) => record.kind === 'call-outcome')
      .map((record) => record.decisionId);
    // 3 allowed lookups, 1 over the limit, 1 deletion, 4 mails held (3 approved, 1 refused)
    expect(intents).toHaveLength(9);
    expect(new Set(outcomes)).toEqual(new Set(intents));
    expect(outcomes).toHaveLength(intents.length);
    const verified = remote.verify();
    expect(verified.code, verified.out).toBe(0);
  });
});

describe('reins/openai-agents in-process (LocalGovernor)', () => {
  it('decides, holds and records the same way, with the pipeline in the application', async () => {
    const reins = await openInProcessReins({ config: remote.deployment.config, log: () => {} });
    try {
      const local = new LocalGovernor({
        harness: reins.harness,
        authenticator: reins.authenticator,
        token: remote.token2('in-process'),
      });
      const calls: ScriptedCall[] = [
        { name: 'lookup_customer', args: { customer: 'acme' }, callId: 'local-1' },
        { name: 'delete_account', args: { customer: 'acme' }, callId: 'local-2' },
        mail('local-3'),
      ];
      const { agent, model, executed } = mailAgent(local, calls);
      const first = await runner.run(agent, 'go');
      expect(first.interruptions.map((item) => item.name)).toEqual(['send_email']);
      const held = await applyReinsDecisions(first.state);
      const id = held.decisions[0]?.call?.id;
      if (id === undefined) throw new Error('no Reins call for the interruption');
      remote.vote(id, 'approve');
      expect((await applyReinsDecisions(first.state, { wait: true, timeoutMs: 20_000 })).ready).toBe(true);
      await runner.run(agent, first.state);
      expect(executed.map((each) => each.tool)).toEqual(['lookup_customer', 'send_email']);
      expect(model.seen.get('local-1')).not.toContain(SECRET);
      expect(model.seen.get('local-2')).toMatch(/^Reins refused this call/);
      expect(model.seen.get('local-3')).toBe('sent "your invoice" to bob@example.com');
    } finally {
      await reins.close();
    }
  }, 60_000);
});

describe('examples/openai-agents', () => {
  it('runs with the scripted model: redaction, a limit, a refusal, a held mail resumed elsewhere', async () => {
    const example = await startRemoteDeployment({
      policy: readFileSync(join(EXAMPLE, 'policy.yaml'), 'utf8'),
      agentId: 'mail-assistant',
    });
    try {
      const credential = join(scratch, 'example.credential');
      writeFileSync(credential, example.token);
      const env = {
        GATEWAY_URL: example.url,
        SAVED_RUN: join(scratch, 'example-run.json'),
        OPENAI_API_KEY: '',
      };
      const start = await runExample(['start', credential], env);
      expect(start).toContain('[REDACTED');
      expect(start).not.toContain(SECRET);
      expect(start).toContain(
        'lookup-3) -> Reins refused this call: at most two customer lookups per session',
      );
      expect(start).toContain('delete-1) -> Reins refused this call: accounts are never deleted by an agent');
      expect(start).toContain('Reins holds 1 call(s) for a human');
      const resuming = runExample(['resume', credential], env);
      const [held] = await eventually(
        () => {
          const pending = example.pending();
          expect(pending).toHaveLength(1);
          return pending;
        },
        { timeoutMs: 20_000, what: 'the held mail' },
      );
      example.vote(held?.id ?? '', 'approve');
      const resumed = await resuming;
      expect(resumed).toContain('send_email: approved');
      expect(resumed).toContain('mail-1) -> sent "Summary" to billing@acme.example');
      expect(example.verify().code).toBe(0);
    } finally {
      await example.close();
    }
  }, 90_000);
});

/** Runs examples/openai-agents/agent.mjs as its README does; resolves with its output. */
function runExample(args: string[], env: Record<string, string>): Promise<string> {
  const child = spawn(process.execPath, [join(EXAMPLE, 'agent.mjs'), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  child.stderr.on('data', (chunk) => {
    out += chunk;
  });
  return new Promise((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${out}`)))),
  );
}
