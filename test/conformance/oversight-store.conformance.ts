/**
 * @module test/conformance/oversight-store.conformance
 * The oversight store conformance suite (approval requests, overrides, session control): the same
 * tests against every backend. Two store instances on one backing store stand for two processes.
 */

import { afterEach, describe, expect, it } from 'vitest';
import type { ApprovalRecord, ApprovalVote, SessionSummary } from '../../src/spec/oversight.js';
import type { ApprovalStore, SessionControlStore } from '../../src/store/state-stores.js';
import { eventually } from '../support/eventually.js';

export interface OversightStores {
  readonly approvals: ApprovalStore;
  readonly sessions: SessionControlStore;
  close(): Promise<void>;
}

export interface OversightConformanceBackend {
  readonly name: string;
  /** A fresh backing store; `open` gives a store instance with a connection of its own. */
  create(): Promise<{ open(): Promise<OversightStores>; destroy(): Promise<void> }>;
}

const NOW = new Date('2030-01-01T00:00:00.000Z');

export function approvalRecord(id: string, overrides: Partial<ApprovalRecord> = {}): ApprovalRecord {
  return {
    id,
    callHash: `sha256:${id}`,
    agentId: 'payments-bot',
    owner: 'olivia',
    delegatedBy: [],
    sessionId: 'session-1',
    tool: { server: 'bank', name: 'transfer' },
    args: { amount: 5000, iban: 'DE00' },
    reasons: ['large transfers need two finance approvers'],
    requirements: [
      { ruleId: 'big-transfers', approvers: ['finance-approvers'], quorum: 1, ownerMayApprove: false },
    ],
    status: 'pending',
    votes: [],
    createdAt: NOW.toISOString(),
    expiresAt: new Date(NOW.getTime() + 60_000).toISOString(),
    updatedAt: NOW.toISOString(),
    ...overrides,
  };
}

function vote(actor: string, approved: boolean, roles = ['finance-approvers']): ApprovalVote {
  return {
    actor: { id: actor, roles },
    approved,
    reason: `${actor} says ${approved}`,
    at: NOW.toISOString(),
  };
}

export function oversightStoreConformance(backend: OversightConformanceBackend): void {
  describe(`oversight store conformance: ${backend.name}`, () => {
    const cleanup: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const step of cleanup.splice(0).reverse()) await step();
    });

    async function fresh() {
      const backing = await backend.create();
      cleanup.push(() => backing.destroy());
      const open = async () => {
        const stores = await backing.open();
        cleanup.push(() => stores.close());
        return stores;
      };
      return { open };
    }

    it('creates, reads and lists requests; a duplicate id is a conflict', async () => {
      const { approvals } = await (await fresh()).open();
      await approvals.create(approvalRecord('a1'));
      await approvals.create(
        approvalRecord('a2', { sessionId: 'session-2', createdAt: '2030-01-01T00:00:01.000Z' }),
      );
      expect(await approvals.get('a1')).toEqual(approvalRecord('a1'));
      expect(await approvals.get('missing')).toBeUndefined();
      await expect(approvals.create(approvalRecord('a1'))).rejects.toMatchObject({ code: 'conflict' });
      expect((await approvals.list()).map((record) => record.id)).toEqual(['a2', 'a1']);
      expect((await approvals.list({ sessionId: 'session-1' })).map((record) => record.id)).toEqual(['a1']);
      expect(await approvals.list({ status: 'approved' })).toEqual([]);
      await expect(approvals.create({ ...approvalRecord('bad'), callHash: '' })).rejects.toMatchObject({
        code: 'invalid_input',
      });
    });

    it("keeps a voter's aliases, and refuses a second vote by the same human under another identity", async () => {
      const { approvals } = await (await fresh()).open();
      const two = [{ ruleId: 'r', approvers: ['finance-approvers'], quorum: 2, ownerMayApprove: true }];
      await approvals.create(approvalRecord('alias', { requirements: two }));
      const federated: ApprovalVote = {
        ...vote('oidc:idp.example.com:f3a9', true),
        actor: {
          id: 'oidc:idp.example.com:f3a9',
          roles: ['finance-approvers'],
          aliases: ['ann@example.com'],
        },
      };
      const first = await approvals.vote('alias', federated, NOW);
      expect(first.votes[0]?.actor.aliases).toEqual(['ann@example.com']);
      expect((await approvals.get('alias'))?.votes[0]?.actor).toEqual(federated.actor);
      await expect(approvals.vote('alias', vote('Ann@Example.com', true), NOW)).rejects.toMatchObject({
        code: 'conflict',
      });
      expect((await approvals.vote('alias', vote('bob@example.com', true), NOW)).status).toBe('approved');
    });

    it('approves at quorum, denies on the first refusal, and refuses a second vote or a decided request', async () => {
      const { approvals } = await (await fresh()).open();
      const two = [{ ruleId: 'r', approvers: ['finance-approvers'], quorum: 2, ownerMayApprove: true }];
      await approvals.create(approvalRecord('q', { requirements: two }));
      expect((await approvals.vote('q', vote('ann', true), NOW)).status).toBe('pending');
      await expect(approvals.vote('q', vote('ann', true), NOW)).rejects.toMatchObject({ code: 'conflict' });
      const approved = await approvals.vote('q', vote('bob', true), NOW);
      expect(approved.status).toBe('approved');
      expect(approved.votes.map((cast) => cast.actor.id)).toEqual(['ann', 'bob']);
      await expect(approvals.vote('q', vote('cid', false), NOW)).rejects.toMatchObject({ code: 'conflict' });

      await approvals.create(approvalRecord('d'));
      expect((await approvals.vote('d', vote('ann', false), NOW)).status).toBe('denied');
      await expect(approvals.vote('missing', vote('ann', true), NOW)).rejects.toMatchObject({
        code: 'not_found',
      });
    });

    it('never lets the owner approve alone when separation of duties applies', async () => {
      const { approvals } = await (await fresh()).open();
      await approvals.create(approvalRecord('sod'));
      expect((await approvals.vote('sod', vote('olivia', true), NOW)).status).toBe('pending');
      expect((await approvals.vote('sod', vote('ann', true), NOW)).status).toBe('approved');
      // a vote without a required role does not count toward the quorum
      await approvals.create(approvalRecord('roles'));
      expect((await approvals.vote('roles', vote('eve', true, ['viewer']), NOW)).status).toBe('pending');
    });

    it('expires a request voted on after its expiry', async () => {
      const { approvals } = await (await fresh()).open();
      await approvals.create(approvalRecord('late'));
      const later = new Date(NOW.getTime() + 60_000);
      await expect(approvals.vote('late', vote('ann', true), later)).rejects.toMatchObject({
        code: 'expired',
      });
      expect((await approvals.get('late'))?.status).toBe('expired');
    });

    it('spends an approval on exactly one call with the bound hash', async () => {
      const { approvals } = await (await fresh()).open();
      await approvals.create(approvalRecord('once'));
      expect(await approvals.consume('once', 'sha256:once', NOW)).toBe(false); // still pending
      await approvals.vote('once', vote('ann', true), NOW);
      expect(await approvals.consume('once', 'sha256:other-call', NOW)).toBe(false);
      expect(await approvals.consume('once', 'sha256:once', NOW)).toBe(true);
      expect(await approvals.consume('once', 'sha256:once', NOW)).toBe(false);
      expect((await approvals.get('once'))?.status).toBe('used');
    });

    it('closes only pending requests', async () => {
      const { approvals } = await (await fresh()).open();
      await approvals.create(approvalRecord('c1'));
      expect((await approvals.close('c1', 'cancelled', NOW))?.status).toBe('cancelled');
      await approvals.create(approvalRecord('c2'));
      await approvals.vote('c2', vote('ann', true), NOW);
      expect((await approvals.close('c2', 'expired', NOW))?.status).toBe('approved');
      expect(await approvals.close('missing', 'expired', NOW)).toBeUndefined();
    });

    it('spends an override once, and never after it expired', async () => {
      const { approvals } = await (await fresh()).open();
      const grant = {
        decisionId: 'dec-1',
        callHash: 'sha256:call',
        by: 'ann',
        reason: 'customer escalation',
        expiresAt: new Date(NOW.getTime() + 60_000).toISOString(),
      };
      await approvals.grantOverride(grant);
      await expect(approvals.grantOverride(grant)).rejects.toMatchObject({ code: 'conflict' });
      expect(await approvals.consumeOverride('sha256:other', NOW)).toBeUndefined();
      expect(await approvals.consumeOverride('sha256:call', NOW)).toEqual(grant);
      expect(await approvals.consumeOverride('sha256:call', NOW)).toBeUndefined();
      await approvals.grantOverride({ ...grant, decisionId: 'dec-2' });
      expect(
        await approvals.consumeOverride('sha256:call', new Date(NOW.getTime() + 60_000)),
      ).toBeUndefined();
    });

    it('controls sessions: open is idempotent, pause and resume, kill is final', async () => {
      const { sessions } = await (await fresh()).open();
      const opened = await sessions.open('s1', 'bot', NOW);
      expect(opened).toMatchObject({ id: 's1', agentId: 'bot', status: 'active' });
      expect(await sessions.open('s1', 'someone-else', new Date(NOW.getTime() + 5))).toEqual(opened);
      const by = { by: 'ann', reason: 'looking into it' };
      expect((await sessions.setStatus('s1', 'paused', by, NOW)).status).toBe('paused');
      expect((await sessions.setStatus('s1', 'active', by, NOW)).status).toBe('active');
      const killed = await sessions.setStatus('s1', 'killed', by, NOW);
      expect(killed).toMatchObject({ status: 'killed', changedBy: 'ann', reason: 'looking into it' });
      await expect(sessions.setStatus('s1', 'active', by, NOW)).rejects.toMatchObject({ code: 'conflict' });
      await expect(sessions.setStatus('nope', 'active', by, NOW)).rejects.toMatchObject({
        code: 'not_found',
      });
      await sessions.open('s2', 'other-bot', NOW);
      expect((await sessions.list({ status: 'killed' })).map((session) => session.id)).toEqual(['s1']);
      expect((await sessions.list({ agentId: 'other-bot' })).map((session) => session.id)).toEqual(['s2']);
    });

    it('kills or pauses a session that has made no call yet: it starts in that state', async () => {
      const { sessions } = await (await fresh()).open();
      const by = { by: 'ann', reason: 'must not start' };
      const killed = await sessions.setStatus('planned', 'killed', by, NOW);
      expect(killed).toEqual({
        id: 'planned',
        agentId: '',
        status: 'killed',
        startedAt: NOW.toISOString(),
        updatedAt: NOW.toISOString(),
        changedBy: 'ann',
        reason: 'must not start',
      });
      expect(await sessions.get('planned')).toEqual(killed);
      const later = new Date(NOW.getTime() + 1_000);
      // the first call opens it killed, and the record learns whose session it is
      expect(await sessions.open('planned', 'bot', later)).toEqual({ ...killed, agentId: 'bot' });
      expect(await sessions.open('planned', 'someone-else', later)).toEqual({ ...killed, agentId: 'bot' });
      expect((await sessions.list({ agentId: 'bot' })).map((session) => session.id)).toEqual(['planned']);
      await expect(sessions.setStatus('planned', 'active', by, later)).rejects.toMatchObject({
        code: 'conflict',
      });
      expect((await sessions.setStatus('on-hold', 'paused', by, NOW)).status).toBe('paused');
      expect((await sessions.open('on-hold', 'bot', later)).status).toBe('paused');
      expect((await sessions.setStatus('on-hold', 'active', by, later)).status).toBe('active');
      // resuming a session nobody has seen means nothing
      await expect(sessions.setStatus('unseen', 'active', by, NOW)).rejects.toMatchObject({
        code: 'not_found',
      });
      expect(await sessions.get('unseen')).toBeUndefined();
    });

    it('lists by the limit rule of the audit log: whole, at least 1 (never unlimited), at most the cap', async () => {
      const { approvals, sessions } = await (await fresh()).open();
      for (const id of ['l1', 'l2', 'l3']) {
        await approvals.create(approvalRecord(id));
        await sessions.open(id, 'bot', NOW);
      }
      const cases: [number, number][] = [
        [-1, 1],
        [0, 1],
        [Number.NEGATIVE_INFINITY, 1],
        [2.5, 2],
        [Number.NaN, 3],
        [Number.POSITIVE_INFINITY, 3],
      ];
      for (const [limit, expected] of cases) {
        expect(await approvals.list({ limit }), `approvals, limit ${limit}`).toHaveLength(expected);
        expect(await sessions.list({ limit }), `sessions, limit ${limit}`).toHaveLength(expected);
      }
    });

    it('tells another instance (another process) about votes and kills', async () => {
      const backing = await fresh();
      const holder = await backing.open();
      const approver = await backing.open();
      const seenApprovals: ApprovalRecord[] = [];
      const seenSessions: SessionSummary[] = [];
      holder.approvals.onChange((record) => seenApprovals.push(record));
      holder.sessions.onChange((session) => seenSessions.push(session));
      await holder.approvals.create(approvalRecord('x'));
      await holder.sessions.open('sx', 'bot', NOW);
      await approver.approvals.vote('x', vote('ann', true), NOW);
      await approver.sessions.setStatus('sx', 'killed', { by: 'ann', reason: 'runaway' }, NOW);
      await waitFor(() => seenApprovals.some((record) => record.id === 'x' && record.status === 'approved'));
      await waitFor(() => seenSessions.some((session) => session.id === 'sx' && session.status === 'killed'));
      // a session killed before it started reaches the other instance too
      await approver.sessions.setStatus('sy', 'killed', { by: 'ann', reason: 'must not start' }, NOW);
      await waitFor(() => seenSessions.some((session) => session.id === 'sy' && session.status === 'killed'));
    });
  });
}

/** Waits until `condition` holds (test/support/eventually). */
export async function waitFor(condition: () => boolean, withinMs = 3_000): Promise<void> {
  await eventually(() => condition() || false, {
    timeoutMs: withinMs,
    intervalMs: 5,
    what: 'the change to arrive',
  });
}
