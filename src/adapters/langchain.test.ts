/**
 * @module adapters/langchain.test
 * The LangChain adapter with the real framework (`createAgent`, LangChain's own `fakeModel`, LangGraph's
 * `MemorySaver`) and a fake ToolGovernor that stands in for Reins: what runs, with which arguments, what
 * the model is given, how a held call interrupts and resumes, and that a re-run never executes twice.
 */
import { Command, MemorySaver } from '@langchain/langgraph';
import {
  AIMessage,
  type BaseMessage,
  createAgent,
  fakeModel,
  HumanMessage,
  ToolMessage,
  tool,
} from 'langchain';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { CallState, OpenCallRequest, OutcomeReport } from '../spec/remote-call.js';
import { GovernorError, type ToolGovernor, type WaitOptions } from './governor.js';
import {
  governToolCall,
  type ReinsHeldInterrupt,
  type ReinsMiddlewareOptions,
  reinsMiddleware,
} from './langchain.js';

type Effect = CallState['effect'];

/** Reins in miniature: decides by tool name, keys calls by callId, redacts `sk-…` in outputs. */
class FakeGovernor implements ToolGovernor {
  readonly opens: OpenCallRequest[] = [];
  readonly reports: { id: string; report: OutcomeReport }[] = [];
  private readonly calls = new Map<string, CallState>();
  private readonly byCallId = new Map<string, { id: string; args: string }>();
  private readonly waiters = new Map<string, () => void>();

  constructor(
    private readonly decide: (tool: string) => Effect,
    /** The arguments Reins gives to run with (e.g. redacted). */
    private readonly argsFor: (args: Record<string, unknown>) => Record<string, unknown> = (args) => args,
  ) {}

  async open(request: OpenCallRequest): Promise<CallState> {
    this.opens.push(request);
    const args = request.args ?? {};
    const known = request.callId === undefined ? undefined : this.byCallId.get(request.callId);
    if (known) {
      if (known.args !== JSON.stringify(args))
        throw new GovernorError('call_conflict', 'this call id was opened with other arguments', 409);
      return this.state(known.id);
    }
    const id = `call-${this.calls.size + 1}`;
    if (request.callId) this.byCallId.set(request.callId, { id, args: JSON.stringify(args) });
    const effect = this.decide(request.tool);
    const base = { id, effect, tool: request.tool } as const;
    const state: CallState =
      effect === 'allow'
        ? { ...base, status: 'ready', args: this.argsFor(args) }
        : effect === 'deny'
          ? { ...base, status: 'denied', reason: 'the policy refuses it' }
          : { ...base, status: 'held', reason: 'a human must approve it', expiresAt: '2099-01-01T00:00:00Z' };
    this.calls.set(id, state);
    return this.state(id);
  }

  async get(id: string): Promise<CallState> {
    return this.state(id);
  }

  async wait(id: string, options: WaitOptions = {}): Promise<CallState> {
    if (this.state(id).status !== 'held') return this.state(id);
    await new Promise<void>((resolve) => {
      this.waiters.set(id, resolve);
      if (options.timeoutMs !== undefined) setTimeout(resolve, options.timeoutMs);
    });
    return this.state(id);
  }

  async complete(id: string, report: OutcomeReport): Promise<CallState> {
    const state = this.state(id);
    if (state.status !== 'ready') throw new GovernorError('not_ready', `call ${id} is ${state.status}`, 409);
    this.reports.push({ id, report });
    const next: CallState = report.ok
      ? { ...state, status: 'completed', output: redact(report.result) }
      : { ...state, status: 'failed', error: `screened: ${report.error}` };
    this.calls.set(id, next);
    return next;
  }

  async cancel(id: string): Promise<CallState> {
    const state = this.state(id);
    if (state.status !== 'ready' && state.status !== 'held')
      throw new GovernorError('not_ready', `call ${id} is ${state.status}`, 409);
    const next: CallState = {
      ...state,
      status: 'denied',
      outcome: 'cancelled',
      reason: 'withdrawn by the agent',
    };
    this.calls.set(id, next);
    return next;
  }

  /** A human approves in Reins: the call becomes ready with exactly the held arguments. */
  approve(id: string): void {
    this.settle(id, { status: 'ready', args: this.heldArgs(id) });
  }

  reject(id: string): void {
    this.settle(id, { status: 'denied', reason: 'a human rejected it' });
  }

  private settle(id: string, change: Partial<CallState>): void {
    this.calls.set(id, { ...this.state(id), ...change });
    this.waiters.get(id)?.();
  }

  private heldArgs(id: string): Record<string, unknown> {
    const entry = [...this.byCallId.values()].find((value) => value.id === id);
    return JSON.parse(entry?.args ?? '{}');
  }

  private state(id: string): CallState {
    const state = this.calls.get(id);
    if (!state) throw new GovernorError('unknown_call', `no call ${id}`, 404);
    return structuredClone(state);
  }
}

function redact(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value).replace(/sk-[A-Za-z0-9]+/g, '[REDACTED]'));
}

/** Tools that count their runs and remember the arguments they got. */
function tools() {
  const runs: { tool: string; args: unknown }[] = [];
  const lookup = tool(
    async (args) => {
      runs.push({ tool: 'lookup', args });
      return { customer: args.id, apiKey: 'sk-abc123', note: 'found' };
    },
    { name: 'lookup', description: 'Looks a customer up', schema: z.object({ id: z.string() }) },
  );
  const refund = tool(
    async (args) => {
      runs.push({ tool: 'refund', args });
      return `refunded ${args.amount} to ${args.id}`;
    },
    {
      name: 'refund',
      description: 'Refunds a customer',
      schema: z.object({ id: z.string(), amount: z.number() }),
    },
  );
  const broken = tool(
    async () => {
      runs.push({ tool: 'broken', args: {} });
      throw new Error('database down');
    },
    { name: 'broken', description: 'Always fails', schema: z.object({}) },
  );
  return { runs, all: [lookup, refund, broken] };
}

const DECIDE = (name: string): Effect =>
  name === 'app/refund' ? 'approve' : name === 'app/delete' ? 'deny' : 'allow';

interface Setup {
  readonly governor: FakeGovernor;
  readonly runs: { tool: string; args: unknown }[];
  readonly model: ReturnType<typeof fakeModel>;
  readonly invoke: (input: unknown) => Promise<{ messages: BaseMessage[]; __interrupt__?: unknown[] }>;
}

function setup(
  calls: { name: string; args: Record<string, unknown>; id?: string }[],
  options: Partial<ReinsMiddlewareOptions> & { checkpointer?: boolean; governor?: FakeGovernor } = {},
): Setup {
  const governor = options.governor ?? new FakeGovernor(DECIDE);
  const { runs, all } = tools();
  const model = fakeModel().respondWithTools(calls).respond(new AIMessage('done'));
  const agent = createAgent({
    model,
    tools: all,
    middleware: [reinsMiddleware({ ...options, governor, server: 'app' })],
    ...(options.checkpointer === false ? {} : { checkpointer: new MemorySaver() }),
  });
  const config = { configurable: { thread_id: `thread-${Math.random()}` } };
  const invoke = (input: unknown) =>
    agent.invoke(input as Parameters<typeof agent.invoke>[0], config) as Promise<{
      messages: BaseMessage[];
      __interrupt__?: unknown[];
    }>;
  return { governor, runs, model, invoke };
}

const ASK = { messages: [new HumanMessage('please help customer c-7')] };

/** The ToolMessages the model was given on its last call. */
function toolMessagesSeen(model: ReturnType<typeof fakeModel>): ToolMessage[] {
  const last = model.calls.at(-1)?.messages ?? [];
  return last.filter((message): message is ToolMessage => ToolMessage.isInstance(message));
}

function heldValues(result: { __interrupt__?: unknown[] }): ReinsHeldInterrupt[] {
  return (result.__interrupt__ ?? []).map((entry) => (entry as { value: ReinsHeldInterrupt }).value);
}

describe('reinsMiddleware with createAgent', () => {
  it('runs an allowed call with the arguments Reins gave, and gives the model Reins’ output', async () => {
    const governor = new FakeGovernor(DECIDE, (args) => ({ ...args, id: 'c-7-checked' }));
    const { runs, model, invoke } = setup([{ name: 'lookup', args: { id: 'c-7' }, id: 'tc-1' }], {
      governor,
    });

    await invoke(ASK);

    expect(governor.opens[0]).toMatchObject({ tool: 'app/lookup', args: { id: 'c-7' }, callId: 'tc-1' });
    expect(runs).toEqual([{ tool: 'lookup', args: { id: 'c-7-checked' } }]);
    expect(governor.reports).toEqual([
      {
        id: 'call-1',
        report: { ok: true, result: { customer: 'c-7-checked', apiKey: 'sk-abc123', note: 'found' } },
      },
    ]);
    const [seen] = toolMessagesSeen(model);
    expect(seen?.content).toBe('{"customer":"c-7-checked","apiKey":"[REDACTED]","note":"found"}');
    expect(seen?.status).toBe('success');
    expect(seen?.tool_call_id).toBe('tc-1');
    expect(seen?.artifact).toEqual({ reins: { callId: 'call-1', status: 'completed' } });
  });

  it('does not run a denied call, and gives the model the reason', async () => {
    const governor = new FakeGovernor(() => 'deny');
    const { runs, model, invoke } = setup([{ name: 'lookup', args: { id: 'c-7' }, id: 'tc-1' }], {
      governor,
    });

    await invoke(ASK);

    expect(runs).toEqual([]);
    expect(governor.reports).toEqual([]);
    const [seen] = toolMessagesSeen(model);
    expect(seen?.content).toBe('Reins refused this call: the policy refuses it');
    expect(seen?.status).toBe('error');
  });

  it('reports a tool that throws as failed, and gives the model the screened error', async () => {
    const { governor, runs, model, invoke } = setup([{ name: 'broken', args: {}, id: 'tc-1' }]);

    await invoke(ASK);

    expect(runs).toHaveLength(1);
    expect(governor.reports).toEqual([{ id: 'call-1', report: { ok: false, error: 'database down' } }]);
    expect(toolMessagesSeen(model)[0]?.content).toBe('screened: database down');
  });

  it('declares the latest human message as the user input, or nothing when told not to', async () => {
    const first = setup([{ name: 'lookup', args: { id: 'c-7' }, id: 'tc-1' }]);
    await first.invoke(ASK);
    expect(first.governor.opens[0]?.userInput).toBe('please help customer c-7');

    const second = setup([{ name: 'lookup', args: { id: 'c-7' }, id: 'tc-1' }], { userInput: false });
    await second.invoke(ASK);
    expect(second.governor.opens[0]).not.toHaveProperty('userInput');
  });

  it('interrupts on a held call, and on resume runs it only once a human approved in Reins', async () => {
    const { governor, runs, model, invoke } = setup([
      { name: 'refund', args: { id: 'c-7', amount: 40 }, id: 'tc-1' },
    ]);

    const first = await invoke(ASK);
    expect(heldValues(first)).toEqual([
      {
        type: 'reins/held',
        callId: 'call-1',
        toolCallId: 'tc-1',
        tool: 'app/refund',
        reason: 'a human must approve it',
        expiresAt: '2099-01-01T00:00:00Z',
      },
    ]);
    expect(runs).toEqual([]);

    // The framework-side "approval" is not one: resumed before Reins approved, it interrupts again.
    const early = await invoke(new Command({ resume: { approved: true } }));
    expect(heldValues(early)).toHaveLength(1);
    expect(runs).toEqual([]);

    governor.approve('call-1');
    const done = await invoke(new Command({ resume: 'anything' }));
    expect(done.__interrupt__).toBeUndefined();
    expect(runs).toEqual([{ tool: 'refund', args: { id: 'c-7', amount: 40 } }]);
    expect(governor.reports).toHaveLength(1);
    expect(toolMessagesSeen(model)[0]?.content).toBe('refunded 40 to c-7');
    expect(governor.opens.every((open) => open.callId === 'tc-1')).toBe(true);
  });

  it('gives the model the refusal when the human rejects the held call', async () => {
    const { governor, runs, model, invoke } = setup([
      { name: 'refund', args: { id: 'c-7', amount: 40 }, id: 'tc-1' },
    ]);
    await invoke(ASK);
    governor.reject('call-1');

    await invoke(new Command({ resume: true }));

    expect(runs).toEqual([]);
    expect(toolMessagesSeen(model)[0]?.content).toBe('Reins refused this call: a human rejected it');
  });

  it('runs the allowed call of a parallel pair at once, and only the held one after approval', async () => {
    const { governor, runs, invoke } = setup([
      { name: 'lookup', args: { id: 'c-7' }, id: 'tc-1' },
      { name: 'refund', args: { id: 'c-7', amount: 40 }, id: 'tc-2' },
    ]);

    const first = await invoke(ASK);
    expect(heldValues(first).map((value) => value.toolCallId)).toEqual(['tc-2']);
    expect(runs.map((run) => run.tool)).toEqual(['lookup']);

    governor.approve('call-2');
    await invoke(new Command({ resume: true }));
    expect(runs.map((run) => run.tool)).toEqual(['lookup', 'refund']);
    expect(governor.reports.map((report) => report.id)).toEqual(['call-1', 'call-2']);
  });

  it('waits for the human instead of interrupting when told to (no checkpointer needed)', async () => {
    const { governor, runs, model, invoke } = setup(
      [{ name: 'refund', args: { id: 'c-7', amount: 40 }, id: 'tc-1' }],
      { onHeld: 'wait', checkpointer: false },
    );

    const running = invoke(ASK);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(runs).toEqual([]);
    governor.approve('call-1');
    await running;

    expect(runs).toHaveLength(1);
    expect(toolMessagesSeen(model)[0]?.content).toBe('refunded 40 to c-7');
  });

  it('tells the model the call is still held when the wait times out', async () => {
    const { runs, model, invoke } = setup([{ name: 'refund', args: { id: 'c-7', amount: 40 }, id: 'tc-1' }], {
      onHeld: 'wait',
      waitTimeoutMs: 20,
      checkpointer: false,
    });

    await invoke(ASK);

    expect(runs).toEqual([]);
    expect(toolMessagesSeen(model)[0]?.content).toMatch(/^Reins is holding this call for human approval/);
  });

  it('fails the run, without running the tool, when a held call cannot interrupt (no checkpointer)', async () => {
    const { runs, invoke } = setup([{ name: 'refund', args: { id: 'c-7', amount: 40 }, id: 'tc-1' }], {
      checkpointer: false,
    });

    await expect(invoke(ASK)).rejects.toThrow(/checkpointer/i);
    expect(runs).toEqual([]);
  });

  it('tells the model, without running the tool, when Reins refuses the request itself (the run goes on)', async () => {
    const governor = new FakeGovernor(DECIDE);
    await governor.open({ tool: 'app/lookup', args: { id: 'someone-else' }, callId: 'tc-1' });
    const { runs, invoke } = setup([{ name: 'lookup', args: { id: 'c-7' }, id: 'tc-1' }], { governor });

    const { messages } = await invoke(ASK);
    const refused = messages.find((message) => message.getType() === 'tool');
    expect(refused?.text).toMatch(/Reins refused this call \(call_conflict\): .*other arguments/);
    expect(runs).toEqual([]);
  });

  it('lets a tool’s own interrupt through: the call stays open at Reins and completes on resume', async () => {
    const governor = new FakeGovernor(() => 'allow');
    let runs = 0;
    const confirm = tool(
      async (_args, config) => {
        runs += 1;
        const answer = (config as { interrupt?: (value: unknown) => unknown }).interrupt?.('sure?');
        return `confirmed: ${String(answer)}`;
      },
      { name: 'confirm', description: 'Asks the user', schema: z.object({}) },
    );
    const model = fakeModel()
      .respondWithTools([{ name: 'confirm', args: {}, id: 'tc-1' }])
      .respond(new AIMessage('ok'));
    const agent = createAgent({
      model,
      tools: [confirm],
      middleware: [reinsMiddleware({ governor, server: 'app' })],
      checkpointer: new MemorySaver(),
    });
    const config = { configurable: { thread_id: 'own-interrupt' } };

    const first = await agent.invoke(ASK, config);
    expect(first.__interrupt__?.[0]?.value).toBe('sure?');
    expect(governor.reports).toEqual([]);

    await agent.invoke(new Command({ resume: 'yes' }), config);
    expect(runs).toBe(2);
    expect(governor.reports).toEqual([{ id: 'call-1', report: { ok: true, result: 'confirmed: yes' } }]);
  });
});

describe('governToolCall', () => {
  const options = (governor: ToolGovernor): ReinsMiddlewareOptions => ({ governor, server: 'app' });
  const request = (id?: string) => ({
    toolCall: { name: 'lookup', args: { id: 'c-7' }, ...(id ? { id } : {}) },
    tool: undefined,
    state: { messages: [] },
    runtime: {},
  });

  it('never executes a completed call twice: a re-run gets the recorded output', async () => {
    const governor = new FakeGovernor(() => 'allow');
    let runs = 0;
    const handler = async () => {
      runs += 1;
      return new ToolMessage({ content: 'sk-live999 found', tool_call_id: 'tc-1' });
    };

    const first = await governToolCall(options(governor), request('tc-1'), handler);
    const again = await governToolCall(options(governor), request('tc-1'), handler);

    expect(runs).toBe(1);
    expect(again.content).toBe('[REDACTED] found');
    expect(again.content).toBe(first.content);
  });

  it('withholds a graph command answered by the tool: Reins cannot screen a state update', async () => {
    const governor = new FakeGovernor(() => 'allow');
    const handler = async () => new Command({ update: { secret: 'sk-abc' } });

    const message = await governToolCall(options(governor), request('tc-1'), handler);

    expect(message.status).toBe('error');
    expect(message.content).toMatch(/graph command/);
    expect(governor.reports[0]?.report.ok).toBe(false);
  });

  it('keys the call by the key the application gives, when its model reuses tool call ids', async () => {
    const governor = new FakeGovernor(() => 'allow');
    const handler = async () => new ToolMessage({ content: 'ran', tool_call_id: 'call_0' });
    const keyed = { ...options(governor), callId: () => 'turn-3/call_0' };

    await governToolCall(keyed, request('call_0'), handler);

    expect(governor.opens[0]?.callId).toBe('turn-3/call_0');
  });

  it('gives a held call without a tool call id back as held: a re-run could not find it', async () => {
    const governor = new FakeGovernor(() => 'approve');
    const handler = async () => new ToolMessage({ content: 'ran', tool_call_id: '' });

    const message = await governToolCall(options(governor), request(), handler);

    expect(governor.opens[0]).not.toHaveProperty('callId');
    expect(message.content).toMatch(/^Reins is holding this call/);
  });
});
