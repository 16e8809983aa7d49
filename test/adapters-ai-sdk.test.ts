/**
 * @module test/adapters-ai-sdk.test
 * `reins/ai-sdk` end to end (issue 15): the real Vercel AI SDK 6 (`generateText`, its tool loop and its
 * tool-approval flow) driven by the SDK's own mock model, against a real `reins gateway` process over
 * the remote protocol, humans through separate `reins approvals` processes; then the same adapter on
 * the in-process mode (LocalGovernor). An allowed call runs and the model sees its output redacted; a
 * denied one does not run and the model gets the reason; a held one becomes the SDK's approval request,
 * waits for a human in Reins and runs exactly the held arguments; an altered or replayed approval is
 * refused; a limit applies; every call has its intent and outcome, and `reins audit verify` passes.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generateText, type ModelMessage, stepCountIs, type ToolSet, tool } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { governTools, type HeldCall } from '../src/adapters/ai-sdk.js';
import type { ToolGovernor } from '../src/adapters/governor.js';
import { LocalGovernor } from '../src/adapters/local-governor.js';
import { RemoteGovernor } from '../src/adapters/remote-governor.js';
import { openInProcessReins } from '../src/cli/in-process.js';
import { type PlannedCall, scriptedModel, seenBy } from './support/ai-sdk-model.js';
import { eventually } from './support/eventually.js';
import { type RemoteDeployment, startRemoteDeployment } from './support/remote-deployment.js';

const SECRET = 'AKIAIOSFODNN7EXAMPLE';
const ROOT = resolve(import.meta.dirname, '..');

const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: ai-sdk-tools }
tools:
  - { server: app, name: read_note, risk: low, effects: [read] }
  - { server: app, name: search, risk: low, effects: [read] }
  - { server: app, name: delete_note, risk: high, effects: [write] }
  - { server: app, name: pay, risk: high, effects: [write, external] }
rules:
  - { id: reads, effect: allow, tool: { server: app, name: [read_note, search] }, reason: the assistant reads notes }
  - { id: payments-need-a-human, effect: approve, tool: { server: app, name: pay }, reason: payments need a human }
  - { id: no-deletes, effect: deny, tool: { server: app, name: delete_note }, reason: notes are never deleted }
limits:
  - { id: two-searches, tool: { server: app, name: search }, per: [session], window: 1h, max: 2, reason: at most 2 searches per session }
redaction:
  outputs: { secret: redact }
`;

/** The application's own tools, counting what ran with which arguments. */
function appTools() {
  const runs: { tool: string; args: Record<string, unknown> }[] = [];
  const ran = (name: string, args: Record<string, unknown>) => runs.push({ tool: name, args });
  const tools = {
    read_note: tool({
      inputSchema: z.object({ name: z.string() }),
      execute: async ({ name }) => {
        ran('read_note', { name });
        return { text: `${name}: the deploy key is ${SECRET}` };
      },
    }),
    search: tool({
      inputSchema: z.object({ query: z.string() }),
      execute: async ({ query }) => {
        ran('search', { query });
        return [`a note about ${query}`];
      },
    }),
    delete_note: tool({
      inputSchema: z.object({ name: z.string() }),
      execute: async ({ name }) => {
        ran('delete_note', { name });
        return 'deleted';
      },
    }),
    pay: tool({
      inputSchema: z.object({ to: z.string(), amount: z.number() }),
      execute: async ({ to, amount }) => {
        ran('pay', { to, amount });
        return `paid ${amount} to ${to}`;
      },
    }),
  };
  return { tools, runs };
}

function governed(
  governor: ToolGovernor,
  options: { approvals?: 'sdk' | 'wait'; waitTimeoutMs?: number } = {},
) {
  const { tools, runs } = appTools();
  const held: HeldCall[] = [];
  const wrapped = governTools(tools, {
    governor,
    server: 'app',
    onHeld: (call) => {
      held.push(call);
    },
    ...options,
  });
  return { tools: wrapped, runs, held };
}

async function run(tools: ToolSet, plan: PlannedCall[], messages?: ModelMessage[]) {
  return generateText({
    model: scriptedModel([plan]),
    tools,
    stopWhen: stepCountIs(4),
    ...(messages ? { messages } : { prompt: 'go' }),
  });
}

/** The messages of a continuation: the first run's, then the client's approval of each request. */
function approvedBy(
  first: Awaited<ReturnType<typeof run>>,
  edit?: (part: { toolCallId: string; input?: unknown }) => void,
): ModelMessage[] {
  const messages: ModelMessage[] = structuredClone([
    { role: 'user', content: 'go' },
    ...first.response.messages,
  ]);
  for (const message of messages)
    if (message.role === 'assistant' && typeof message.content !== 'string')
      for (const part of message.content)
        if (part.type === 'tool-call' || part.type === 'tool-approval-request') edit?.(part);
  const requests = first.content.filter((part) => part.type === 'tool-approval-request');
  messages.push({
    role: 'tool',
    content: requests.map((part) => ({
      type: 'tool-approval-response',
      approvalId: part.approvalId,
      approved: true,
    })),
  });
  return messages;
}

/** Waits until the call is in `reins approvals list`, with its arguments. */
async function pendingApproval(remote: RemoteDeployment, id: string) {
  return eventually(
    async () => {
      const found = remote.pending().find((each) => each.id === id);
      expect(found).toBeDefined();
      return found as NonNullable<typeof found>;
    },
    { timeoutMs: 20_000, intervalMs: 200, what: `approval request ${id}` },
  );
}

function expectEveryCallRecorded(remote: RemoteDeployment, calls: number) {
  const records = remote.records();
  const done = new Set(records.filter((r) => r.kind === 'call-outcome').map((r) => r.decisionId));
  console.log(
    JSON.stringify(
      records.filter((r) => r.kind === 'call-intent' && !done.has(r.decisionId)),
      null,
      1,
    ),
  );
  const intents = records
    .filter((record) => record.kind === 'call-intent')
    .map((record) => record.decisionId);
  const outcomes = records
    .filter((record) => record.kind === 'call-outcome')
    .map((record) => record.decisionId);
  expect(intents).toHaveLength(calls);
  expect(new Set(outcomes)).toEqual(new Set(intents));
  expect(outcomes).toHaveLength(intents.length);
  expect(JSON.stringify(records)).not.toContain(SECRET);
  const verified = remote.verify();
  expect(verified.code, verified.out).toBe(0);
}

describe('reins/ai-sdk against a real gateway (remote protocol)', () => {
  let remote: RemoteDeployment;
  let governor: RemoteGovernor;

  beforeAll(async () => {
    remote = await startRemoteDeployment({ policy: POLICY });
    governor = new RemoteGovernor({ url: remote.url, token: remote.token, pollSeconds: 2 });
  }, 60_000);

  afterAll(async () => {
    await remote?.close();
  });

  it('runs an allowed call; the model sees its output redacted', async () => {
    const { tools, runs } = governed(governor);
    const result = await run(tools, [
      { toolName: 'read_note', input: { name: 'deploy' }, toolCallId: 'r-1' },
    ]);
    expect(runs).toEqual([{ tool: 'read_note', args: { name: 'deploy' } }]);
    const [seen] = seenBy(result);
    expect(seen?.output.type).toBe('json');
    expect(JSON.stringify(seen?.output)).toContain('[REDACTED');
    expect(JSON.stringify(result.response.messages)).not.toContain(SECRET);
  });

  it('does not run a denied call; the model gets the reason as the tool result', async () => {
    const { tools, runs } = governed(governor);
    const result = await run(tools, [
      { toolName: 'delete_note', input: { name: 'deploy' }, toolCallId: 'd-1' },
    ]);
    expect(runs).toEqual([]);
    const [seen] = seenBy(result);
    expect(seen?.output.type).toBe('text');
    expect(seen?.output.value).toMatch(/^Reins refused this call: .*notes are never deleted/);
  });

  it('a held call becomes an approval request, waits for a human in Reins, then runs exactly the held arguments', async () => {
    const { tools, runs, held } = governed(governor);
    const first = await run(tools, [
      { toolName: 'pay', input: { to: 'ACME', amount: 120 }, toolCallId: 'p-1' },
    ]);
    expect(first.content.filter((part) => part.type === 'tool-approval-request')).toHaveLength(1);
    expect(runs).toEqual([]);
    const id = held[0]?.call.id as string;
    expect((await pendingApproval(remote, id)).args).toEqual({ to: 'ACME', amount: 120 });
    // the client approves at once: its approval is not Reins', so the execution waits for the human
    const second = run(tools, [], approvedBy(first));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(runs).toEqual([]);
    expect(remote.vote(id, 'approve')).toContain('approved');
    const [seen] = seenBy(await second);
    expect(runs).toEqual([{ tool: 'pay', args: { to: 'ACME', amount: 120 } }]);
    expect(seen?.output).toEqual({ type: 'text', value: 'paid 120 to ACME' });
  }, 60_000);

  it('refuses an altered approval, and a replayed one runs nothing again', async () => {
    const { tools, runs, held } = governed(governor, { waitTimeoutMs: 1_000 });
    const first = await run(tools, [
      { toolName: 'pay', input: { to: 'ACME', amount: 7 }, toolCallId: 'p-2' },
    ]);
    const id = held[0]?.call.id as string;
    await pendingApproval(remote, id);
    remote.vote(id, 'approve');
    // the client changes the approved call's arguments in the history it sends back
    const altered = approvedBy(first, (part) => {
      if ('input' in part) part.input = { to: 'MALLORY', amount: 7000 };
    });
    const refused = await run(tools, [], altered);
    expect(runs).toEqual([]);
    expect(seenBy(refused)[0]?.output.value).toMatch(/^Reins refused this call: /);
    // the genuine approval runs the held arguments, once
    await run(tools, [], approvedBy(first));
    expect(runs).toEqual([{ tool: 'pay', args: { to: 'ACME', amount: 7 } }]);
    // replayed as it was: the call has run, nothing runs again
    await run(tools, [], approvedBy(first));
    // replayed onto another tool call id: a new call, held for a human again, not run
    const moved = await run(
      tools,
      [],
      approvedBy(first, (part) => {
        part.toolCallId = 'p-2-replayed';
      }),
    );
    expect(runs).toHaveLength(1);
    expect(seenBy(moved)[0]?.output.value).toMatch(/^Reins is holding this call for human approval/);
    const replayed = held.find((call) => call.toolCallId === 'p-2-replayed')?.call.id as string;
    expect(replayed).not.toBe(id);
    // a human refuses it in Reins: the next run of that approval gets the refusal
    remote.vote(replayed, 'deny');
    const denied = await run(
      tools,
      [],
      approvedBy(first, (part) => {
        part.toolCallId = 'p-2-replayed';
      }),
    );
    expect(seenBy(denied)[0]?.output.value).toMatch(/^Reins refused this call: .*ann/);
    expect(runs).toHaveLength(1);
  }, 60_000);

  it("with approvals: 'wait', a held call waits inside the run and runs once approved from another process", async () => {
    const { tools, runs, held } = governed(governor, { approvals: 'wait' });
    const running = run(tools, [{ toolName: 'pay', input: { to: 'ACME', amount: 3 }, toolCallId: 'p-3' }]);
    await expect.poll(() => held.length, { timeout: 20_000 }).toBe(1);
    const id = held[0]?.call.id as string;
    await pendingApproval(remote, id);
    remote.vote(id, 'approve');
    const result = await running;
    expect(result.content.some((part) => part.type === 'tool-approval-request')).toBe(false);
    expect(runs).toEqual([{ tool: 'pay', args: { to: 'ACME', amount: 3 } }]);
  }, 60_000);

  it('applies a limit: the third search of the session is refused', async () => {
    const { tools, runs } = governed(governor);
    const result = await run(
      tools,
      ['s-1', 's-2', 's-3'].map((toolCallId, index) => ({
        toolName: 'search',
        input: { query: `q${index}` },
        toolCallId,
      })),
    );
    expect(runs).toHaveLength(2);
    const refusals = seenBy(result).filter((part) => part.output.type === 'text');
    expect(refusals).toHaveLength(1);
    expect(refusals[0]?.output.value).toMatch(/at most 2 searches/);
  });

  it('records every call with its intent and outcome, and the log verifies', async () => {
    await eventually(async () => expectEveryCallRecorded(remote, 9), {
      timeoutMs: 10_000,
      intervalMs: 300,
      what: 'an outcome for every intent',
    });
  }, 30_000);
});

describe('reins/ai-sdk in process (LocalGovernor)', () => {
  it('governs the same way with the pipeline inside the application', async () => {
    const remote = await startRemoteDeployment({ policy: POLICY, agentId: 'in-process' });
    await remote.gateway.stop();
    const reins = await openInProcessReins({ config: remote.deployment.config, log: () => {} });
    try {
      const governor = new LocalGovernor({
        harness: reins.harness,
        authenticator: reins.authenticator,
        token: remote.token,
      });
      const { tools, runs, held } = governed(governor);
      const read = await run(tools, [
        { toolName: 'read_note', input: { name: 'deploy' }, toolCallId: 'l-1' },
        { toolName: 'delete_note', input: { name: 'deploy' }, toolCallId: 'l-2' },
      ]);
      expect(JSON.stringify(seenBy(read))).toContain('[REDACTED');
      expect(JSON.stringify(seenBy(read))).toContain('notes are never deleted');
      const first = await run(tools, [
        { toolName: 'pay', input: { to: 'ACME', amount: 9 }, toolCallId: 'l-3' },
      ]);
      const id = held[0]?.call.id as string;
      await pendingApproval(remote, id);
      remote.vote(id, 'approve');
      await run(tools, [], approvedBy(first));
      expect(runs).toEqual([
        { tool: 'read_note', args: { name: 'deploy' } },
        { tool: 'pay', args: { to: 'ACME', amount: 9 } },
      ]);
    } finally {
      await reins.close();
    }
    try {
      expectEveryCallRecorded(remote, 3);
    } finally {
      await remote.close();
    }
  }, 90_000);
});

describe('examples/ai-sdk', () => {
  it('runs against a gateway with its own policy: redacted, refused, limited, held and approved from another process', async () => {
    const policy = readFileSync(join(ROOT, 'examples/ai-sdk/policy.yaml'), 'utf8');
    const remote = await startRemoteDeployment({ policy });
    try {
      remote.reins(
        'agents',
        'create',
        'notes-assistant',
        '--owner',
        'you',
        '--roles',
        'assistant',
        '--scopes',
        'app/*',
      );
      const credential = join(remote.deployment.directory, 'notes-assistant.credential');
      writeFileSync(credential, remote.reins('agents', 'token', 'notes-assistant').trim());
      const env = Object.fromEntries(
        Object.entries(process.env).filter(([name]) => !/^(REINS_|OPENAI_)/.test(name)),
      );
      const child = spawn(process.execPath, [join(ROOT, 'examples/ai-sdk/agent.mjs'), credential], {
        cwd: ROOT,
        env: { ...env, REINS_URL: remote.url },
      });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      const id = await eventually(
        async () => {
          const found = /held for a human in Reins as call ([0-9a-f-]{36})/.exec(out)?.[1];
          expect(found, out).toBeDefined();
          return found as string;
        },
        { timeoutMs: 30_000, intervalMs: 200, what: 'the held payment' },
      );
      expect(out).not.toMatch(/paid 120/);
      remote.vote(id, 'approve');
      expect(await exited, out).toBe(0);
      expect(out).toContain('[REDACTED:aws_access_key]');
      expect(out).not.toContain(SECRET);
      expect(out).toContain('"Reins refused this call: notes are never deleted by an assistant"');
      expect(out).toContain('"Reins refused this call: at most two searches in one session"');
      expect(out).toContain('send_payment {"to":"ACME","amount":120} -> "paid 120 EUR to ACME"');
      const verified = remote.verify();
      expect(verified.code, verified.out).toBe(0);
    } finally {
      await remote.close();
    }
  }, 90_000);
});
