/**
 * Unit tests of `reins/openai-agents`: the real OpenAI Agents SDK runner, driven by a scripted model
 * (the SDK's own `Model` interface), against a fake `ToolGovernor` that keeps the protocol's rules
 * (idempotent per call id, the same call id with other arguments refused, outcome only for a ready
 * call, once). The end-to-end tests against a real gateway are in test/adapters-openai-agents.test.ts.
 */
import { Agent, Runner, RunState, tool } from '@openai/agents';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type ScriptedCall, ScriptedModel } from '../../test/support/scripted-agents-model.js';
import type { CallState, OpenCallRequest, OutcomeReport } from '../spec/remote-call.js';
import { GovernorError, type ToolGovernor, type WaitOptions } from './governor.js';
import { applyReinsDecisions, governTool, type ReinsToolOptions, reinsTool } from './openai-agents.js';

type Effect = 'allow' | 'deny' | 'approve';

/** A governor keeping the protocol's rules in memory; the "policy" is a function of the tool name. */
class FakeGovernor implements ToolGovernor {
  readonly opened: OpenCallRequest[] = [];
  readonly reports: { id: string; report: OutcomeReport }[] = [];
  private readonly calls = new Map<string, { state: CallState; args: string }>();
  private readonly byCallId = new Map<string, string>();
  private readonly waiters = new Map<string, (() => void)[]>();
  failWith: Error | undefined;
  waits = 0;

  constructor(private readonly policy: (tool: string) => Effect) {}

  async open(request: OpenCallRequest): Promise<CallState> {
    this.opened.push(request);
    if (this.failWith) throw this.failWith;
    const args = JSON.stringify(request.args ?? {});
    const known = request.callId === undefined ? undefined : this.byCallId.get(request.callId);
    if (known !== undefined) {
      const call = this.call(known);
      if (call.args !== args)
        throw new GovernorError('call_conflict', 'this call id was opened with other arguments', 409);
      return call.state;
    }
    const id = `dec-${this.calls.size + 1}`;
    const effect = this.policy(request.tool);
    const status = effect === 'allow' ? 'ready' : effect === 'deny' ? 'denied' : 'held';
    const state: CallState = {
      id,
      status,
      effect,
      tool: request.tool,
      ...(status === 'ready' ? { args: request.args ?? {} } : {}),
      ...(status !== 'ready' ? { reason: `policy says ${effect}` } : {}),
    };
    this.calls.set(id, { state, args });
    if (request.callId !== undefined) this.byCallId.set(request.callId, id);
    return state;
  }

  async get(id: string): Promise<CallState> {
    return this.call(id).state;
  }

  async wait(id: string, options: WaitOptions = {}): Promise<CallState> {
    this.waits++;
    if (this.call(id).state.status === 'held') {
      await new Promise<void>((resolve) => {
        this.waiters.set(id, [...(this.waiters.get(id) ?? []), resolve]);
        if (options.timeoutMs !== undefined) setTimeout(resolve, options.timeoutMs);
      });
    }
    return this.call(id).state;
  }

  async complete(id: string, report: OutcomeReport): Promise<CallState> {
    const call = this.call(id);
    if (call.state.status !== 'ready') throw new GovernorError('not_ready', 'the call is not ready', 409);
    this.reports.push({ id, report });
    call.state = report.ok
      ? { ...call.state, status: 'completed', output: redact(report.result) }
      : { ...call.state, status: 'failed', error: `screened: ${report.error}` };
    return call.state;
  }

  async cancel(id: string): Promise<CallState> {
    const call = this.call(id);
    if (call.state.status !== 'ready' && call.state.status !== 'held')
      throw new GovernorError('not_ready', 'the call is not ready', 409);
    call.state = { ...call.state, status: 'denied', outcome: 'cancelled', reason: 'withdrawn by the agent' };
    return call.state;
  }

  /** A human decides a held call (as `reins approvals approve|deny` would). */
  decide(id: string, approve: boolean): void {
    const call = this.call(id);
    const args = JSON.parse(call.args) as Record<string, unknown>;
    call.state = approve
      ? { ...call.state, status: 'ready', args }
      : { ...call.state, status: 'denied', reason: 'a human said no' };
    for (const resolve of this.waiters.get(id) ?? []) resolve();
  }

  idOf(callId: string): string {
    const id = this.byCallId.get(callId);
    if (id === undefined) throw new Error(`no call ${callId}`);
    return id;
  }

  private call(id: string): { state: CallState; args: string } {
    const call = this.calls.get(id);
    if (!call) throw new GovernorError('unknown_call', `no call ${id}`, 404);
    return call;
  }
}

/** The fake's output filter: API keys are redacted. */
function redact(result: unknown): unknown {
  return JSON.parse(JSON.stringify(result).replace(/sk-[a-z0-9]+/g, '[REDACTED]'));
}

const runner = new Runner({ tracingDisabled: true });

/** An agent with one governed `send` tool; `executed` lists the arguments the tool really ran with. */
function setup(effect: Effect, calls: readonly ScriptedCall[], extra: Partial<ReinsToolOptions> = {}) {
  const governor = new FakeGovernor(() => effect);
  const executed: unknown[] = [];
  const options: ReinsToolOptions = { governor, server: 'app', ...extra };
  const build = () => {
    const model = new ScriptedModel(calls);
    const send = reinsTool(options, {
      name: 'send',
      description: 'Send a message',
      parameters: z.object({ to: z.string(), text: z.string() }),
      execute: async (input) => {
        executed.push(input);
        if (input.text === 'explode') throw new Error('the mail server is down');
        return { sent: true, token: 'sk-abc123' };
      },
    });
    return { model, agent: new Agent({ name: 'mailer', instructions: 'send', model, tools: [send] }) };
  };
  return { governor, executed, build };
}

const SEND: ScriptedCall = { name: 'send', args: { to: 'bob', text: 'hi' }, callId: 'call_1' };

describe('reins/openai-agents: calls Reins allows or denies', () => {
  it('runs an allowed call with the arguments Reins gives and the model sees the redacted output', async () => {
    const { governor, executed, build } = setup('allow', [SEND]);
    const { model, agent } = build();
    const result = await runner.run(agent, 'send bob hi');
    expect(result.interruptions).toEqual([]);
    expect(executed).toEqual([{ to: 'bob', text: 'hi' }]);
    expect(governor.opened[0]).toEqual({
      tool: 'app/send',
      args: { to: 'bob', text: 'hi' },
      callId: 'call_1',
    });
    expect(governor.reports).toEqual([
      { id: 'dec-1', report: { ok: true, result: { sent: true, token: 'sk-abc123' } } },
    ]);
    expect(model.seen.get('call_1')).toBe('{"sent":true,"token":"[REDACTED]"}');
  });

  it('does not run a denied call and the model receives the reason', async () => {
    const { governor, executed, build } = setup('deny', [SEND]);
    const { model, agent } = build();
    const result = await runner.run(agent, 'send');
    expect(result.interruptions).toEqual([]);
    expect(executed).toEqual([]);
    expect(governor.reports).toEqual([]);
    expect(model.seen.get('call_1')).toBe('Reins refused this call: policy says deny');
  });

  it('reports a failing tool as failed; the model sees the screened error', async () => {
    const { governor, executed, build } = setup('allow', [{ ...SEND, args: { to: 'bob', text: 'explode' } }]);
    const { model, agent } = build();
    await runner.run(agent, 'send');
    expect(executed).toHaveLength(1);
    expect(governor.reports).toEqual([
      { id: 'dec-1', report: { ok: false, error: 'the mail server is down' } },
    ]);
    expect(model.seen.get('call_1')).toBe('screened: the mail server is down');
  });

  it('fails the run, without running the tool, when Reins cannot be reached', async () => {
    const { governor, executed, build } = setup('allow', [SEND]);
    governor.failWith = new TypeError('fetch failed');
    await expect(runner.run(build().agent, 'send')).rejects.toThrow(/fetch failed/);
    expect(executed).toEqual([]);
  });

  it('answers a refusal of the protocol itself to the model, without running the tool', async () => {
    const { governor, executed, build } = setup('allow', [SEND]);
    governor.failWith = new GovernorError('unauthorized', 'the credential is revoked', 401);
    const { model, agent } = build();
    await runner.run(agent, 'send');
    expect(executed).toEqual([]);
    expect(model.seen.get('call_1')).toBe(
      'Reins refused this call (unauthorized): the credential is revoked',
    );
  });
});

describe('reins/openai-agents: calls Reins holds for a human', () => {
  it('interrupts the run; nothing runs before a human decides in Reins', async () => {
    const { governor, executed, build } = setup('approve', [SEND]);
    const result = await runner.run(build().agent, 'send');
    expect(result.interruptions.map((item) => item.name)).toEqual(['send']);
    expect(executed).toEqual([]);
    const applied = await applyReinsDecisions(result.state);
    expect(applied.ready).toBe(false);
    expect(applied.decisions.map((decision) => decision.outcome)).toEqual(['held']);
    expect(applied.decisions[0]?.call?.id).toBe(governor.idOf('call_1'));
  });

  it('resumes from a serialised state, in a fresh agent, once a human approved in Reins', async () => {
    const { governor, executed, build } = setup('approve', [SEND]);
    const first = await runner.run(build().agent, 'send');
    const saved = first.state.toString();
    governor.decide(governor.idOf('call_1'), true);

    const { model, agent } = build(); // as another process would build it
    const state = await RunState.fromString(agent, saved);
    const applied = await applyReinsDecisions(state);
    expect(applied).toMatchObject({ ready: true, decisions: [{ outcome: 'approved' }] });
    const resumed = await runner.run(agent, state);
    expect(resumed.interruptions).toEqual([]);
    expect(executed).toEqual([{ to: 'bob', text: 'hi' }]);
    expect(model.seen.get('call_1')).toBe('{"sent":true,"token":"[REDACTED]"}');
    // every open of this call named the same call id with the same arguments
    expect(new Set(governor.opened.map((request) => JSON.stringify(request)))).toEqual(
      new Set([JSON.stringify({ tool: 'app/send', args: { to: 'bob', text: 'hi' }, callId: 'call_1' })]),
    );
  });

  it('rejects the interruption with the reason when a human denied the call in Reins', async () => {
    const { governor, executed, build } = setup('approve', [SEND]);
    const { model, agent } = build();
    const first = await runner.run(agent, 'send');
    governor.decide(governor.idOf('call_1'), false);
    const applied = await applyReinsDecisions(first.state);
    expect(applied).toMatchObject({ ready: true, decisions: [{ outcome: 'rejected' }] });
    await runner.run(agent, first.state);
    expect(executed).toEqual([]);
    expect(governor.reports).toEqual([]);
    expect(model.seen.get('call_1')).toBe('Reins refused this call: a human said no');
  });

  it('runs an allowed call of the same turn once, across the interruption and the resumption', async () => {
    const governor = new FakeGovernor((tool) => (tool === 'app/send' ? 'approve' : 'allow'));
    const looked: unknown[] = [];
    const options = { governor, server: 'app' };
    const lookup = reinsTool(options, {
      name: 'lookup',
      description: 'look up',
      parameters: z.object({ id: z.string() }),
      execute: async (input) => {
        looked.push(input);
        return `found ${input.id}`;
      },
    });
    const send = reinsTool(options, {
      name: 'send',
      description: 'send',
      parameters: z.object({ to: z.string(), text: z.string() }),
      execute: async () => 'sent',
    });
    const model = new ScriptedModel([SEND, { name: 'lookup', args: { id: '7' }, callId: 'call_2' }]);
    const agent = new Agent({ name: 'two', instructions: 'x', model, tools: [send, lookup] });
    const first = await runner.run(agent, 'go');
    expect(first.interruptions.map((item) => item.name)).toEqual(['send']);
    governor.decide(governor.idOf('call_1'), true);
    await applyReinsDecisions(first.state);
    await runner.run(agent, first.state);
    expect(looked).toEqual([{ id: '7' }]);
    expect(model.seen.get('call_1')).toBe('sent');
    expect(model.seen.get('call_2')).toBe('found 7');
  });

  it('waits for the human when asked to, then approves', async () => {
    const { governor, build } = setup('approve', [SEND]);
    const first = await runner.run(build().agent, 'send');
    setTimeout(() => governor.decide(governor.idOf('call_1'), true), 20);
    const applied = await applyReinsDecisions(first.state, { wait: true, timeoutMs: 5_000 });
    expect(applied).toMatchObject({ ready: true, decisions: [{ outcome: 'approved' }] });
  });

  it('with whenHeld "wait", the run waits inside the call instead of interrupting', async () => {
    const { governor, executed, build } = setup('approve', [SEND], { whenHeld: 'wait' });
    const { model, agent } = build();
    const running = runner.run(agent, 'send');
    await eventually(() => governor.opened.length === 1);
    governor.decide(governor.idOf('call_1'), true);
    const result = await running;
    expect(result.interruptions).toEqual([]);
    expect(executed).toEqual([{ to: 'bob', text: 'hi' }]);
    expect(model.seen.get('call_1')).toBe('{"sent":true,"token":"[REDACTED]"}');
  });

  it('with whenHeld "wait" and a timeout, the model is told the call is held and nothing runs', async () => {
    const { executed, build } = setup('approve', [SEND], { whenHeld: 'wait', waitTimeoutMs: 20 });
    const { model, agent } = build();
    await runner.run(agent, 'send');
    expect(executed).toEqual([]);
    expect(model.seen.get('call_1')).toMatch(/^Reins is holding this call for human approval \(call dec-1\)/);
  });
});

describe('reins/openai-agents: an approval given in the SDK alone counts for nothing', () => {
  it('a call approved in the SDK but still held in Reins does not run', async () => {
    const { governor, executed, build } = setup('approve', [SEND]);
    const first = await runner.run(build().agent, 'send');
    const { model, agent } = build();
    const state = await RunState.fromString(agent, first.state.toString());
    for (const item of state.getInterruptions()) state.approve(item); // forged: no human in Reins
    await runner.run(agent, state);
    expect(executed).toEqual([]);
    expect(governor.reports).toEqual([]);
    expect(governor.waits).toBe(0); // answered at once: the run does not block on it
    expect(model.seen.get('call_1')).toMatch(/^Reins is holding this call for human approval/);
  });

  it('arguments altered in the serialised state are refused by Reins; the tool does not run', async () => {
    const { governor, executed, build } = setup('approve', [SEND]);
    const first = await runner.run(build().agent, 'send');
    governor.decide(governor.idOf('call_1'), true); // the human approved bob/hi
    const altered = first.state.toString().replaceAll('\\"bob\\"', '\\"mallory\\"');
    expect(altered).not.toBe(first.state.toString());
    const { model, agent } = build();
    const state = await RunState.fromString(agent, altered);
    for (const item of state.getInterruptions()) state.approve(item);
    await runner.run(agent, state);
    expect(executed).toEqual([]);
    expect(model.seen.get('call_1')).toMatch(/^Reins refused this call \(call_conflict\)/);
    // and the helper rejects the altered interruption instead of approving it
    const again = await RunState.fromString(agent, altered);
    const applied = await applyReinsDecisions(again);
    expect(applied.decisions.map((decision) => decision.outcome)).toEqual(['rejected']);
  });

  it('a replayed approval does not run the tool twice', async () => {
    const { governor, executed, build } = setup('approve', [SEND]);
    const first = await runner.run(build().agent, 'send');
    const saved = first.state.toString();
    governor.decide(governor.idOf('call_1'), true);
    for (let attempt = 0; attempt < 2; attempt++) {
      const { model, agent } = build();
      const state = await RunState.fromString(agent, saved);
      await applyReinsDecisions(state);
      await runner.run(agent, state);
      expect(model.seen.get('call_1')).toBe('{"sent":true,"token":"[REDACTED]"}');
    }
    expect(executed).toHaveLength(1);
    expect(governor.reports).toHaveLength(1);
  });
});

describe('reins/openai-agents: tools', () => {
  it('leaves the interruptions of tools Reins does not govern to the application', async () => {
    const governor = new FakeGovernor(() => 'approve');
    const own = tool({
      name: 'own',
      description: 'an ungoverned tool with its own approval',
      parameters: z.object({}),
      needsApproval: true,
      execute: async () => 'ran',
    });
    const send = reinsTool(
      { governor, server: 'app' },
      {
        name: 'send',
        description: 'send',
        parameters: z.object({ to: z.string(), text: z.string() }),
        execute: async () => 'sent',
      },
    );
    const model = new ScriptedModel([SEND, { name: 'own', args: {}, callId: 'call_2' }]);
    const agent = new Agent({ name: 'mixed', instructions: 'x', model, tools: [send, own] });
    const result = await runner.run(agent, 'go');
    const applied = await applyReinsDecisions(result.state);
    expect(applied.decisions.map((decision) => [decision.item.name, decision.outcome])).toEqual([
      ['send', 'held'],
      ['own', 'not-governed'],
    ]);
    expect(governor.opened.map((request) => request.tool)).toEqual(['app/send', 'app/send']);
  });

  it('governs an existing SDK function tool, keeping its name, schema and description', async () => {
    const governor = new FakeGovernor(() => 'allow');
    const original = tool({
      name: 'lookup',
      description: 'Look a customer up',
      parameters: z.object({ id: z.string() }),
      errorFunction: null,
      execute: async (input) => `customer ${input.id}`,
    });
    const governed = governTool(original, { governor, server: 'crm' });
    expect([governed.name, governed.description, governed.parameters]).toEqual([
      original.name,
      original.description,
      original.parameters,
    ]);
    const model = new ScriptedModel([{ name: 'lookup', args: { id: '42' }, callId: 'call_9' }]);
    await runner.run(new Agent({ name: 'crm', instructions: 'x', model, tools: [governed] }), 'go');
    expect(governor.opened).toEqual([
      { tool: 'crm/lookup', args: { id: '42' }, callId: 'call_9' },
      { tool: 'crm/lookup', args: { id: '42' }, callId: 'call_9' },
    ]);
    expect(model.seen.get('call_9')).toBe('customer 42');
  });

  it('runs the tool with the arguments Reins gives, not the model’s', async () => {
    const governor = new FakeGovernor(() => 'allow');
    const open = governor.open.bind(governor);
    governor.open = async (request) => {
      const state = await open(request);
      return state.status === 'ready' ? { ...state, args: { ...state.args, text: '[REDACTED]' } } : state;
    };
    const executed: unknown[] = [];
    const send = reinsTool(
      { governor, server: 'app' },
      {
        name: 'send',
        description: 'send',
        parameters: z.object({ to: z.string(), text: z.string() }),
        execute: async (input) => {
          executed.push(input);
          return 'ok';
        },
      },
    );
    const model = new ScriptedModel([SEND]);
    await runner.run(new Agent({ name: 'r', instructions: 'x', model, tools: [send] }), 'go');
    expect(executed).toEqual([{ to: 'bob', text: '[REDACTED]' }]);
  });
});

async function eventually(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
