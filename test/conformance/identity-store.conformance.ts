/**
 * @module test/conformance/identity-store.conformance
 * The identity store conformance suite: the same tests, unchanged, against every backend. A backend
 * provides a way to open stores on one fresh backing store; several may be open at once, each with its
 * own connection, as in several processes (which is how change notification is tested).
 */

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentRecordV1, IdentityChange, RevocationV1 } from '../../src/spec/identity.js';
import type { IdentityStore } from '../../src/store/state-stores.js';
import { eventually } from '../support/eventually.js';

/** One fresh, empty backing store of a backend. */
export interface IdentityConformanceStore {
  /** Opens a store instance on it with a connection of its own. */
  open(): Promise<IdentityStore>;
  /** Drops the backing store. */
  destroy(): Promise<void>;
}

export interface IdentityConformanceBackend {
  readonly name: string;
  create(): Promise<IdentityConformanceStore>;
}

const CREATED = '2020-01-01T00:00:00.000Z';
const NOTIFY_WITHIN_MS = 2_000;

export function agentRecord(id: string, overrides: Partial<AgentRecordV1> = {}): AgentRecordV1 {
  return {
    v: 1,
    id,
    owner: 'alice@example.com',
    description: `agent ${id}`,
    scopes: ['crm/*'],
    roles: ['support'],
    riskTier: 'medium',
    state: 'active',
    createdAt: CREATED,
    updatedAt: CREATED,
    ...overrides,
  };
}

export function revocation(id: string, until: Date, overrides: Partial<RevocationV1> = {}): RevocationV1 {
  return {
    kind: 'token',
    id,
    until: until.toISOString(),
    at: new Date().toISOString(),
    by: 'admin@example.com',
    reason: 'leaked',
    ...overrides,
  };
}

/** Waits until `condition` holds (test/support/eventually), naming what it waits for on failure. */
export function waitFor(condition: () => boolean, what: string, timeoutMs = NOTIFY_WITHIN_MS): Promise<true> {
  return eventually(() => condition() || false, { what, timeoutMs, intervalMs: 5 }) as Promise<true>;
}

const hour = (hours: number) => new Date(Date.now() + hours * 3_600_000);

export function identityStoreConformance(backend: IdentityConformanceBackend): void {
  describe(`IdentityStore conformance: ${backend.name}`, () => {
    let store: IdentityConformanceStore;
    const opened: IdentityStore[] = [];

    async function open(): Promise<IdentityStore> {
      const instance = await store.open();
      opened.push(instance);
      return instance;
    }

    beforeEach(async () => {
      store = await backend.create();
    });
    afterEach(async () => {
      for (const instance of opened.splice(0)) await instance.close().catch(() => {});
      await store.destroy();
    });

    it('creates, gets and lists agents, durable across instances', async () => {
      const identities = await open();
      expect(await identities.listAgents()).toEqual([]);
      expect(await identities.getAgent('nobody')).toBeUndefined();
      const created = await identities.createAgent(agentRecord('support-bot'));
      expect(created).toEqual(agentRecord('support-bot'));
      await identities.createAgent(agentRecord('billing-bot', { riskTier: 'high', scopes: [] }));
      // defaults of the schema are applied to what is stored
      const minimal = { v: 1, id: 'minimal', owner: 'bob', createdAt: CREATED, updatedAt: CREATED };
      const stored = await identities.createAgent(minimal as AgentRecordV1);
      expect(stored).toMatchObject({
        state: 'active',
        riskTier: 'medium',
        scopes: [],
        roles: [],
        description: '',
      });

      const other = await open();
      expect(await other.getAgent('support-bot')).toEqual(agentRecord('support-bot'));
      expect((await other.listAgents()).map((agent) => agent.id)).toEqual([
        'billing-bot',
        'minimal',
        'support-bot',
      ]);
      await identities.close();
      opened.splice(opened.indexOf(identities), 1);
      const reopened = await open();
      expect(await reopened.getAgent('billing-bot')).toEqual(
        agentRecord('billing-bot', { riskTier: 'high', scopes: [] }),
      );
    });

    it('refuses a duplicate agent id with a conflict, from any instance', async () => {
      const identities = await open();
      await identities.createAgent(agentRecord('support-bot'));
      await expect(
        identities.createAgent(agentRecord('support-bot', { owner: 'mallory' })),
      ).rejects.toMatchObject({
        code: 'conflict',
        message: 'agent `support-bot` already exists',
      });
      const other = await open();
      await expect(other.createAgent(agentRecord('support-bot'))).rejects.toMatchObject({ code: 'conflict' });
      expect(await identities.getAgent('support-bot')).toMatchObject({ owner: 'alice@example.com' });
    });

    it('refuses malformed records before storing them', async () => {
      const identities = await open();
      await expect(identities.createAgent(agentRecord('Not An Id'))).rejects.toMatchObject({
        code: 'invalid_input',
      });
      await expect(identities.revoke(revocation('t1', hour(1), { until: 'tomorrow' }))).rejects.toMatchObject(
        {
          code: 'invalid_input',
        },
      );
      expect(await identities.listAgents()).toEqual([]);
      expect(await identities.revocations(new Date())).toEqual([]);
    });

    it('changes agent state, updating updatedAt; retired is final; unknown agents are not found', async () => {
      const identities = await open();
      await identities.createAgent(agentRecord('support-bot'));
      const by = { by: 'admin@example.com', reason: 'investigating' };

      const suspended = await identities.setAgentState('support-bot', 'suspended', by);
      expect(suspended).toMatchObject({ id: 'support-bot', state: 'suspended', createdAt: CREATED });
      expect(suspended.updatedAt).not.toBe(CREATED);
      expect(Date.parse(suspended.updatedAt)).toBeGreaterThan(Date.now() - 60_000);
      expect(await identities.getAgent('support-bot')).toEqual(suspended);

      const other = await open();
      expect(await other.setAgentState('support-bot', 'active', by)).toMatchObject({ state: 'active' });
      expect(await identities.getAgent('support-bot')).toMatchObject({ state: 'active' });

      const retired = await identities.setAgentState('support-bot', 'retired', by);
      expect(retired.state).toBe('retired');
      for (const state of ['active', 'suspended', 'retired'] as const) {
        await expect(other.setAgentState('support-bot', state, by)).rejects.toMatchObject({
          code: 'conflict',
          message: expect.stringContaining('retired'),
        });
      }
      expect(await identities.getAgent('support-bot')).toEqual(retired);

      await expect(identities.setAgentState('ghost', 'suspended', by)).rejects.toMatchObject({
        code: 'not_found',
        message: expect.stringContaining('`ghost`'),
      });
    });

    it('returns only revocations still in force, and keeps the later `until` of a repeated revoke', async () => {
      const identities = await open();
      const now = new Date();
      await identities.revoke(revocation('expired', hour(-1)));
      await identities.revoke(revocation('t-short', hour(1)));
      const agentRevocation = revocation('agent-x', hour(2), { kind: 'agent' });
      await identities.revoke(agentRevocation);
      await identities.revoke(revocation('s1', hour(3), { kind: 'session' }));
      // same id, other kind: a separate revocation
      await identities.revoke(revocation('s1', hour(1), { kind: 'token' }));

      const live = await identities.revocations(now);
      expect(live.map((entry) => `${entry.kind}:${entry.id}`).sort()).toEqual([
        'agent:agent-x',
        'session:s1',
        'token:s1',
        'token:t-short',
      ]);
      expect(live.find((entry) => entry.id === 'agent-x')).toEqual(agentRevocation);
      // `until` must be strictly after `now`
      const shortUntil = new Date(live.find((entry) => entry.id === 't-short')?.until ?? 0);
      expect((await identities.revocations(shortUntil)).map((entry) => entry.id)).not.toContain('t-short');
      expect((await identities.revocations(hour(2.5))).map((entry) => `${entry.kind}:${entry.id}`)).toEqual([
        'session:s1',
      ]);

      // idempotent: revoking again never shortens a revocation, and lengthens it when asked to
      const other = await open();
      await other.revoke(revocation('t-short', hour(0.5), { reason: 'shorter' }));
      const afterShorter = (await identities.revocations(now)).find((entry) => entry.id === 't-short');
      expect(afterShorter?.reason).toBe('leaked');
      expect(Date.parse(afterShorter?.until ?? '')).toBeCloseTo(hour(1).getTime(), -4);
      await other.revoke(revocation('t-short', hour(5), { reason: 'longer' }));
      await other.revoke(revocation('t-short', hour(5), { reason: 'longer' }));
      const afterLonger = (await identities.revocations(now)).filter((entry) => entry.id === 't-short');
      expect(afterLonger).toHaveLength(1);
      expect(afterLonger[0]?.reason).toBe('longer');
      expect((await identities.revocations(hour(4))).map((entry) => entry.id)).toContain('t-short');
    });

    it('keeps no signing keys: dropping the legacy ones of earlier versions finds none', async () => {
      const identities = await open();
      expect(await identities.dropLegacySigningKeys()).toBe(0);
      expect(await identities.dropLegacySigningKeys()).toBe(0);
    });

    it('tells another instance about every change, in order, within 2 s', async () => {
      const writer = await open();
      const reader = await open();
      const seen: IdentityChange[] = [];
      // (a listener may also hear of changes committed just before it subscribed: none here)
      reader.onChange((change) => seen.push(change));
      await writer.createAgent(agentRecord('support-bot'));
      await waitFor(() => seen.length >= 1, 'the new agent to reach the other instance');

      const revoked = revocation('jti-1', hour(1));
      await writer.revoke(revoked);
      await waitFor(() => seen.length >= 2, 'the revocation to reach the other instance');
      expect(seen).toEqual([
        { kind: 'agent', id: 'support-bot' },
        { kind: 'revocation', revocation: revoked },
      ]);

      await writer.setAgentState('support-bot', 'suspended', { by: 'admin', reason: 'incident' });
      await writer.revoke(revocation('support-bot', hour(1), { kind: 'agent' }));
      await waitFor(() => seen.length >= 4, 'two more changes to reach the other instance');
      expect(seen.slice(2).map((change) => change.kind)).toEqual(['agent', 'revocation']);
      expect(seen[2]).toEqual({ kind: 'agent', id: 'support-bot' });
      expect(seen).toHaveLength(4);
      expect(seen[3]).toMatchObject({ kind: 'revocation', revocation: { kind: 'agent', id: 'support-bot' } });
      // the listener is called after the commit: what it reads back is the new state
      expect(await reader.getAgent('support-bot')).toMatchObject({ state: 'suspended' });
    });

    it('tells local listeners about local writes exactly once, and stops after unsubscribing', async () => {
      const local = await open();
      const remote = await open();
      const seen: IdentityChange[] = [];
      const unsubscribe = local.onChange((change) => seen.push(change));

      const first = revocation('jti-local', hour(1));
      await local.revoke(first);
      await waitFor(() => seen.length >= 1, 'the local revocation to reach the local listener');
      const second = revocation('jti-remote', hour(1));
      await remote.revoke(second);
      // changes arrive in order: once the remote one is here, a second delivery of the local one would be too
      await waitFor(() => seen.length >= 2, 'the remote revocation to reach the local listener');
      expect(seen).toEqual([
        { kind: 'revocation', revocation: first },
        { kind: 'revocation', revocation: second },
      ]);

      // a repeated revoke that changes nothing tells nobody
      await remote.revoke(revocation('jti-remote', hour(0.5)));
      unsubscribe();
      const after: IdentityChange[] = [];
      local.onChange((change) => after.push(change));
      await remote.revoke(revocation('jti-3', hour(1)));
      await waitFor(() => after.length >= 1, 'the third revocation');
      expect(after.map((change) => change.kind === 'revocation' && change.revocation.id)).toEqual(['jti-3']);
      expect(seen).toHaveLength(2);
    });

    it('keeps notifying when a listener throws', async () => {
      const writer = await open();
      const reader = await open();
      const seen: IdentityChange[] = [];
      reader.onChange(() => {
        throw new Error('listener bug');
      });
      reader.onChange((change) => seen.push(change));
      await writer.revoke(revocation('a', hour(1)));
      await writer.revoke(revocation('b', hour(1)));
      await waitFor(() => seen.length >= 2, 'both revocations despite the failing listener');
    });

    it('closes idempotently and refuses use after close', async () => {
      const identities = await open();
      await identities.createAgent(agentRecord('support-bot'));
      identities.onChange(() => {});
      await identities.close();
      await identities.close();
      await expect(identities.getAgent('support-bot')).rejects.toThrow(/closed/);
      await expect(identities.revoke(revocation('x', hour(1)))).rejects.toThrow(/closed/);
    });
  });
}
