/**
 * @module gateway/session-share.test
 * The share of an upstream each session gets: past it, a session's requests wait in its own queue,
 * first come first served; other sessions are not held up; one that gives up (cancelled, timed out)
 * leaves the queue for good. End to end over both transports: test/security/gateway-attack-upstream-starvation.test.ts.
 */
import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { ToolNotStarted } from '../harness/types.js';
import type { Principal } from '../spec/tool-call.js';
import { asOneCall, SessionShare, shareKey } from './session-share.js';

const LONG = 60_000;
const open = () => new AbortController().signal;

/** Whether `promise` has settled by the next turn of the event loop. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('SessionShare', () => {
  it('lets a session have its share in flight, and queues the rest in order', async () => {
    const share = new SessionShare(2);
    const first = await share.take('a', open(), LONG);
    await share.take('a', open(), LONG);
    const order: string[] = [];
    const inOrder = (name: string) => (end: () => void) => {
      order.push(name);
      return end;
    };
    const third = share.take('a', open(), LONG).then(inOrder('third'));
    const fourth = share.take('a', open(), LONG).then(inOrder('fourth'));
    expect(await settled(third)).toBe(false);
    expect(share.load('a')).toEqual({ inFlight: 2, waiting: 2 });
    first();
    first(); // twice is harmless: one turn, one slot
    expect(await settled(third)).toBe(true);
    expect(await settled(fourth)).toBe(false);
    (await third)();
    await fourth;
    expect(order).toEqual(['third', 'fourth']);
    expect(share.load('a')).toEqual({ inFlight: 2, waiting: 0 });
  });

  it('does not hold one session up for another', async () => {
    const share = new SessionShare(1);
    await share.take('a', open(), LONG);
    const waiting = share.take('a', open(), LONG);
    expect(await settled(share.take('b', open(), LONG))).toBe(true);
    expect(await settled(waiting)).toBe(false);
  });

  it('takes a cancelled request out of the queue: it never gets a turn, and the next one does', async () => {
    const share = new SessionShare(1);
    const end = await share.take('a', open(), LONG);
    const cancel = new AbortController();
    const cancelled = share.take('a', cancel.signal, LONG);
    const next = share.take('a', open(), LONG);
    const reason = new Error('the client cancelled');
    cancel.abort(reason);
    // never sent: the harness records that it did not run
    await expect(cancelled).rejects.toBeInstanceOf(ToolNotStarted);
    await expect(cancelled).rejects.toMatchObject({ cause: reason });
    expect(share.load('a')).toEqual({ inFlight: 1, waiting: 1 });
    end();
    expect(await settled(next)).toBe(true);
  });

  it('refuses a request whose caller is gone already, even with room to spare', async () => {
    const share = new SessionShare(1);
    const cancel = new AbortController();
    cancel.abort(new Error('gone'));
    await expect(share.take('a', cancel.signal, LONG)).rejects.toBeInstanceOf(ToolNotStarted);
    expect(share.load('a')).toEqual({ inFlight: 0, waiting: 0 });
  });

  it('fails a request that waited its whole timeout as timed out, and as never sent', async () => {
    const share = new SessionShare(1);
    const end = await share.take('a', open(), LONG);
    const late = share.take('a', open(), 20);
    await expect(late).rejects.toBeInstanceOf(ToolNotStarted);
    await expect(late).rejects.toMatchObject({
      message: /^Request timed out: .*never sent/,
      cause: { code: ErrorCode.RequestTimeout },
    });
    end();
    expect(share.load('a')).toEqual({ inFlight: 0, waiting: 0 });
  });

  it('refuses at once, as never sent, a request past the most that may wait, and lets others wait', async () => {
    const share = new SessionShare(1);
    const end = await share.take('a', open(), LONG);
    const waiting = Array.from({ length: share.maxWaiting }, () => share.take('a', open(), LONG));
    expect(share.load('a')).toEqual({ inFlight: 1, waiting: share.maxWaiting });
    await expect(share.take('a', open(), LONG)).rejects.toBeInstanceOf(ToolNotStarted);
    // another session is not affected
    (await share.take('b', open(), LONG))();
    end();
    for (const turn of waiting) (await turn)();
    expect(share.load('a')).toEqual({ inFlight: 0, waiting: 0 });
  });

  it('counts a delegated session in the share of the root of its delegation chain', () => {
    const principal = (agentId: string, delegatedBy: string[], parentSessions: string[]) =>
      ({ agentId, roles: [], delegatedBy, parentSessions }) as unknown as Principal;
    const root = shareKey(principal('greedy', [], []), 'op-issued');
    // the agent's own delegations to itself, each with a fresh session: one share
    expect(shareKey(principal('greedy', ['greedy'], ['op-issued']), 'op-issued/t1')).toBe(root);
    expect(shareKey(principal('greedy', ['greedy', 'greedy'], ['op-issued', 'op-issued/t1']), 'x')).toBe(
      root,
    );
    // a delegation to another agent counts in the delegator's root share too
    expect(shareKey(principal('modest', ['greedy'], ['op-issued']), 'op-issued/t2')).toBe(root);
    // another agent's session of the same name is another share
    expect(shareKey(principal('modest', [], []), 'op-issued')).not.toBe(root);
  });

  it('forgets a session once nothing of it is in flight or waiting', async () => {
    const share = new SessionShare(1);
    (await share.take('a', open(), LONG))();
    expect(share.load('a')).toEqual({ inFlight: 0, waiting: 0 });
    expect(share.sessionCount).toBe(0);
  });

  it('refuses a share that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new SessionShare(bad)).toThrow(RangeError);
  });

  it('lets only the first request of a call that makes several say the call did not start', async () => {
    const unsent = () => Promise.reject(new ToolNotStarted('never sent'));
    await expect(asOneCall(unsent)()).rejects.toBeInstanceOf(ToolNotStarted);
    // a read went out first: a later request left unsent does not mean the call did not run
    let requests = 0;
    const send = asOneCall(() => (++requests === 1 ? Promise.resolve('read') : unsent()));
    expect(await send()).toBe('read');
    const later = send();
    await expect(later).rejects.toThrow('never sent');
    await expect(later).rejects.not.toBeInstanceOf(ToolNotStarted);
  });
});
