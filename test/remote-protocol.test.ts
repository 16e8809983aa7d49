/**
 * @module test/remote-protocol.test
 * The remote enforcement protocol end to end (issue 15): a real `reins gateway` process, the agent's
 * side as plain HTTP with its credential (RemoteGovernor, the client the adapters use), humans through
 * separate CLI processes. An allowed call runs with the arguments Reins gives; a denied one must not
 * run and its outcome is refused; a held one waits (long-poll and SSE), is approved by another process
 * and then runs exactly the held arguments; a call id reused with other arguments, a replayed outcome,
 * another session's credential, a killed session and a revoked credential mid-call are refused; output
 * redaction and limits apply; every call has its intent and outcome, and the log verifies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GovernorError } from '../src/adapters/governor.js';
import { RemoteGovernor } from '../src/adapters/remote-governor.js';
import type { CallState } from '../src/spec/remote-call.js';
import { eventually } from './support/eventually.js';
import { type RemoteDeployment, startRemoteDeployment } from './support/remote-deployment.js';

const SECRET = 'AKIAIOSFODNN7EXAMPLE';

const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: remote-tools }
tools:
  - { server: app, name: lookup, risk: low, effects: [read] }
  - { server: app, name: send_email, risk: medium, effects: [external] }
  - { server: app, name: pay, risk: high, effects: [write, external] }
  - { server: app, name: delete_all, risk: high, effects: [write] }
rules:
  - { id: reads, effect: allow, tool: { server: app, name: [lookup, send_email] }, reason: the assistant reads and writes mail }
  - { id: payments-need-a-human, effect: approve, tool: { server: app, name: pay }, reason: payments need a human }
  - { id: no-delete-all, effect: deny, tool: { server: app, name: delete_all }, reason: never delete everything }
limits:
  - id: mail-per-session
    tool: { server: app, name: send_email }
    per: [session]
    window: 24h
    max: 2
    reason: at most 2 mails per session
redaction:
  outputs: { secret: redact }
`;

let remote: RemoteDeployment;
let agent: RemoteGovernor;

beforeAll(async () => {
  remote = await startRemoteDeployment({ policy: POLICY });
  agent = new RemoteGovernor({ url: remote.url, token: remote.token, pollSeconds: 2 });
}, 60_000);

afterAll(async () => {
  await remote?.close();
});

async function refusal(promise: Promise<unknown>): Promise<GovernorError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(GovernorError);
  return error as GovernorError;
}

describe('the remote enforcement protocol', () => {
  it('an allowed call is ready with its arguments; the outcome is recorded and its output redacted', async () => {
    const opened = await agent.open({ tool: 'app/lookup', args: { customer: 'acme' } });
    expect(opened).toMatchObject({ status: 'ready', effect: 'allow', args: { customer: 'acme' } });
    const done = await agent.complete(opened.id, { ok: true, result: { note: `key ${SECRET}` } });
    expect(done.status).toBe('completed');
    expect(JSON.stringify(done.output)).not.toContain(SECRET);
    expect(JSON.stringify(done.output)).toContain('[REDACTED');
    // a second outcome for the same call is refused: it is completed
    const again = await refusal(agent.complete(opened.id, { ok: true, result: 'forged' }));
    expect(again).toMatchObject({ code: 'not_ready', status: 409 });
    expect((await agent.get(opened.id)).output).toEqual(done.output);
  });

  it('a denied call is refused with its reason, and an outcome for it is refused', async () => {
    const opened = await agent.open({ tool: 'app/delete_all', args: {} });
    expect(opened).toMatchObject({ status: 'denied', outcome: 'denied' });
    expect(opened.reason).toContain('never delete everything');
    const reported = await refusal(agent.complete(opened.id, { ok: true, result: 'deleted' }));
    expect(reported.status).toBe(409);
    expect(reported.message).toMatch(/refused/);
  });

  it('a held call waits, is approved by another process, and runs exactly the held arguments', async () => {
    const opened = await agent.open({ tool: 'app/pay', args: { to: 'ACME', amount: 120 }, callId: 'pay-1' });
    expect(opened).toMatchObject({ status: 'held', effect: 'approve' });
    // an outcome before the approval is refused
    expect((await refusal(agent.complete(opened.id, { ok: true, result: 'paid' }))).status).toBe(409);
    const waiting = agent.wait(opened.id);
    const [request] = await eventually(
      async () => {
        const pending = remote.pending().filter((each) => each.id === opened.id);
        expect(pending).toHaveLength(1);
        return pending;
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'the approval request' },
    );
    expect(request?.args).toEqual({ to: 'ACME', amount: 120 });
    expect(remote.vote(opened.id, 'approve')).toContain('approved');
    const ready = await waiting;
    expect(ready).toMatchObject({ status: 'ready', args: { to: 'ACME', amount: 120 } });
    // the same call id again, as a framework re-runs an interrupted step: the same call, still ready
    expect(
      await agent.open({ tool: 'app/pay', args: { to: 'ACME', amount: 120 }, callId: 'pay-1' }),
    ).toMatchObject({
      id: opened.id,
      status: 'ready',
    });
    // ... but with other arguments under the approved call id: refused, nothing new is opened
    const altered = await refusal(
      agent.open({ tool: 'app/pay', args: { to: 'MALLORY', amount: 120 }, callId: 'pay-1' }),
    );
    expect(altered).toMatchObject({ code: 'call_conflict', status: 409 });
    const done = await agent.complete(opened.id, { ok: true, result: 'paid 120 to ACME' });
    expect(done).toMatchObject({ status: 'completed', output: 'paid 120 to ACME' });
    // replaying the approved call id after it ran does not run it again
    expect(
      await agent.open({ tool: 'app/pay', args: { to: 'ACME', amount: 120 }, callId: 'pay-1' }),
    ).toMatchObject({
      id: opened.id,
      status: 'completed',
    });
  }, 60_000);

  it('a held call refused by a human is denied; SSE streams the change', async () => {
    const opened = await agent.open({ tool: 'app/pay', args: { to: 'ACME', amount: 7 } });
    expect(opened.status).toBe('held');
    const response = await fetch(`${remote.url}/v1/calls/${opened.id}`, {
      headers: { authorization: `Bearer ${remote.token}`, accept: 'text/event-stream' },
    });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const events = readEvents(response);
    remote.vote(opened.id, 'deny');
    const states = await events;
    expect(states.at(0)?.status).toBe('held');
    expect(states.at(-1)).toMatchObject({ status: 'denied', outcome: 'denied' });
    expect(states.at(-1)?.reason).toMatch(/refused by ann/);
  }, 60_000);

  it('a call of another session is not found with that session credential', async () => {
    const opened = await agent.open({ tool: 'app/lookup', args: { customer: 'x' } });
    const other = new RemoteGovernor({ url: remote.url, token: remote.token2('another-session') });
    expect((await refusal(other.get(opened.id))).status).toBe(404);
    expect((await refusal(other.complete(opened.id, { ok: true, result: 'forged' }))).status).toBe(404);
    await agent.complete(opened.id, { ok: true, result: 'ok' });
  });

  it('limits apply across calls: the third mail of the session is refused', async () => {
    const sent: CallState[] = [];
    for (let index = 0; index < 3; index++)
      sent.push(await agent.open({ tool: 'app/send_email', args: { index } }));
    expect(sent.map((each) => each.status)).toEqual(['ready', 'ready', 'denied']);
    expect(sent[2]?.reason).toContain('at most 2 mails');
    await agent.complete(sent[0]?.id ?? '', { ok: true, result: 'sent' });
    // withdrawing a released call does not give its budget back: it may have run
    expect(await agent.cancel(sent[1]?.id ?? '', 'never mind')).toMatchObject({ outcome: 'cancelled' });
    expect((await agent.open({ tool: 'app/send_email', args: { index: 3 } })).status).toBe('denied');
  });

  it('bad requests get clear errors and record nothing', async () => {
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${remote.url}/v1/calls`, {
        method: 'POST',
        headers: { authorization: `Bearer ${remote.token}`, 'content-type': 'application/json', ...headers },
        body,
      });
    expect((await post('{not json')).status).toBe(400);
    expect((await post(JSON.stringify({ tool: 'no-server', args: {} }))).status).toBe(400);
    expect((await post(JSON.stringify({ tool: 'app/lookup', args: {}, extra: 1 }))).status).toBe(400);
    expect((await post('{}', { 'content-type': 'text/plain' })).status).toBe(415);
    // control characters in a tool name would reach an approver's terminal: refused
    expect((await post(JSON.stringify({ tool: 'app/lookup\u001b[2J', args: {} }))).status).toBe(400);
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const tooDeep = await post(`{"tool":"app/lookup","args":{"x":${deep}}}`);
    expect(tooDeep.status).toBe(400);
    expect(((await tooDeep.json()) as { message: string }).message).toMatch(/nested deeper than 64/);
    expect(
      (await post(JSON.stringify({ tool: 'app/lookup', args: { big: 'x'.repeat(5_000_000) } }))).status,
    ).toBe(413);
    const anonymous = await fetch(`${remote.url}/v1/calls`, { method: 'POST', body: '{}' });
    expect(anonymous.status).toBe(401);
    const forged = await fetch(`${remote.url}/v1/calls`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${remote.token.slice(0, -4)}AAAA`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ tool: 'app/lookup', args: {} }),
    });
    expect(forged.status).toBe(401);
  });

  it('the agent withdraws a held call it will not run: it ends cancelled, and nothing can release it', async () => {
    const opened = await agent.open({
      tool: 'app/pay',
      args: { to: 'ACME', amount: 1 },
      callId: 'withdrawn',
    });
    expect(opened.status).toBe('held');
    expect(await agent.cancel(opened.id, 'the user refused it in the chat')).toMatchObject({
      status: 'denied',
      outcome: 'cancelled',
    });
    expect(remote.pending().map((request) => request.id)).not.toContain(opened.id);
    expect((await refusal(agent.cancel(opened.id))).status).toBe(409);
    expect((await refusal(agent.complete(opened.id, { ok: true, result: 'x' }))).status).toBe(409);
  });

  it('every call has its intent and outcome, and the log verifies', () => {
    const records = remote.records();
    const intents = records
      .filter((record) => record.kind === 'call-intent')
      .map((record) => record.decisionId);
    const outcomes = records
      .filter((record) => record.kind === 'call-outcome')
      .map((record) => record.decisionId);
    expect(intents.length).toBeGreaterThan(5);
    expect(new Set(outcomes)).toEqual(new Set(intents));
    expect(outcomes).toHaveLength(intents.length);
    const verified = remote.verify();
    expect(verified.code, verified.out).toBe(0);
  });
});

describe('stopped mid-call', () => {
  it('a session killed while a call runs or waits ends both; their outcomes are refused', async () => {
    const session = `kill-${Date.now()}`;
    const token = remote.token2(session);
    const victim = new RemoteGovernor({ url: remote.url, token, pollSeconds: 2 });
    const running = await victim.open({ tool: 'app/lookup', args: { customer: 'k' } });
    const held = await victim.open({ tool: 'app/pay', args: { to: 'K', amount: 1 } });
    expect([running.status, held.status]).toEqual(['ready', 'held']);
    const waiting = victim.wait(held.id);
    remote.reins('sessions', 'kill', session, '--reason', 'runaway');
    expect(await waiting).toMatchObject({ status: 'denied', outcome: 'cancelled' });
    const late = await refusal(victim.complete(running.id, { ok: true, result: 'done anyway' }));
    expect(late.status).toBe(409);
    expect((await victim.get(running.id)).outcome).toBe('cancelled');
    expect((await victim.open({ tool: 'app/lookup', args: {} })).status).toBe('denied');
  }, 60_000);

  it('a credential revoked while a call is held refuses the call and every later request', async () => {
    const remote2 = await startRemoteDeployment({ policy: POLICY, agentId: 'doomed' });
    try {
      const victim = new RemoteGovernor({ url: remote2.url, token: remote2.token, pollSeconds: 2 });
      const held = await victim.open({ tool: 'app/pay', args: { to: 'R', amount: 2 } });
      const running = await victim.open({ tool: 'app/lookup', args: {} });
      const waiting = victim.wait(held.id);
      remote2.reins('agents', 'suspend', 'doomed', '--reason', 'compromised');
      const ended = await waiting.then(
        (state) => state,
        (error: unknown) => error,
      );
      // the wait either sees the refusal or is itself refused (its next poll carries a revoked credential)
      if (ended instanceof GovernorError) expect(ended.status).toBe(401);
      else expect(ended).toMatchObject({ status: 'denied' });
      expect((await refusal(victim.complete(running.id, { ok: true, result: 'x' }))).status).toBe(401);
      const records = await eventually(
        async () => {
          const all = remote2.records();
          expect(all.filter((record) => record.kind === 'call-outcome')).toHaveLength(2);
          return all;
        },
        { timeoutMs: 10_000, intervalMs: 200, what: 'both outcomes on record' },
      );
      const outcomes = records
        .filter((record) => record.kind === 'call-outcome')
        .map((record) => record.outcome);
      expect(outcomes.sort()).toEqual(['cancelled', 'denied']);
      expect(remote2.pending()).toEqual([]);
    } finally {
      await remote2.close();
    }
  }, 90_000);
});

/** Reads `event: state` messages until the stream ends. */
async function readEvents(response: Response): Promise<CallState[]> {
  const states: CallState[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const message = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = message.split('\n').find((line) => line.startsWith('data: '));
      if (message.startsWith('event: state') && data) states.push(JSON.parse(data.slice(6)));
      end = buffer.indexOf('\n\n');
    }
  }
  return states;
}
