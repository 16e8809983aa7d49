/**
 * @module test/security/identity-comparison.test
 * Issue 11, surface "comparisons of human and agent identities in separation-of-duties checks": an
 * owner written `Olivia@Example.com`, `olivia@example.com ` or with fullwidth or zero-width characters
 * is the same human as `olivia@example.com`. Before the fix, such variants compared as different
 * people, so an owner could approve their own agent's call, or count twice towards a quorum. Identities
 * now have one canonical form (NFKC, lower case), applied where they are created and where they are
 * compared; identities with invisible, control or whitespace characters are refused. An actor may carry
 * aliases (an OIDC person's provider-verified email, decision 0023): every one of them is that human.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createUser } from '../../src/api/users.js';
import { AgentRegistry } from '../../src/auth/agent-registry.js';
import { type ApprovalRecord, requirementsMet } from '../../src/spec/oversight.js';
import { applyVote } from '../../src/store/oversight-records.js';
import { SqliteIdentityStore } from '../../src/store/sqlite/sqlite-identity-store.js';
import { SqliteUserStore } from '../../src/store/sqlite/sqlite-user-store.js';

const OWNER_VARIANTS = [
  'Olivia@Example.com',
  'OLIVIA@EXAMPLE.COM',
  'ｏｌｉｖｉａ@example.com', // fullwidth
];
const INVISIBLE = [
  'olivia@example.com ',
  ' olivia@example.com',
  'olivia\u200b@example.com', // zero-width space
  'olivia@example.com\u200d', // zero-width joiner
  'oli\u00advia@example.com', // soft hyphen
  'olivia@example.com\u202e', // right-to-left override
  'olivia@example.com\n',
];

function pendingRequest(owner: string): ApprovalRecord {
  const now = new Date();
  return {
    id: 'request-1',
    callHash: 'hash',
    agentId: 'payments-bot',
    owner,
    delegatedBy: [],
    sessionId: 'session-1',
    tool: { server: 'pay', name: 'payments.send' },
    args: { amount: 5000 },
    reasons: ['payments over 1000 need two finance approvers'],
    requirements: [{ ruleId: 'big', approvers: ['finance'], quorum: 2, ownerMayApprove: false }],
    status: 'pending',
    votes: [],
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + 600_000).toISOString(),
    updatedAt: now.toISOString(),
  };
}

const vote = (id: string) => ({ actor: { id, roles: ['finance'] }, approved: true, reason: 'ok', at: '' });

describe('identity comparisons in separation of duties', () => {
  it('an owner spelled differently is still the owner: the owner never approves alone', () => {
    for (const variant of OWNER_VARIANTS) {
      const votes = [vote('olivia@example.com'), vote(variant)];
      expect(
        requirementsMet({
          requirements: pendingRequest('olivia@example.com').requirements,
          votes,
          owner: variant,
        }),
        variant,
      ).toBe(false);
    }
  });

  it('one human counts once towards a quorum, however the id is spelled', () => {
    for (const variant of OWNER_VARIANTS) {
      const first = applyVote(pendingRequest('dana@example.com'), vote('olivia@example.com'), new Date());
      const second = (() => {
        try {
          return applyVote(first.record, vote(variant), new Date()).record.status;
        } catch (error) {
          return (error as { code?: string }).code;
        }
      })();
      expect(second, variant).toBe('conflict');
    }
  });

  it('a person known by an alias (the email a provider verified) is that human too: one vote, and the owner', () => {
    const federated = (aliases: string[]) => ({
      actor: { id: 'oidc:login.example.com:f3a9', roles: ['finance'], aliases },
      approved: true,
      reason: 'ok',
      at: '',
    });
    // the same human with a local token and through the provider, in either order, votes once
    const local = applyVote(pendingRequest('dana@example.com'), vote('olivia@example.com'), new Date());
    expect(() => applyVote(local.record, federated(['Olivia@Example.com']), new Date())).toThrow(
      /already voted/,
    );
    const viaProvider = applyVote(
      pendingRequest('dana@example.com'),
      federated(['olivia@example.com']),
      new Date(),
    );
    expect(() => applyVote(viaProvider.record, vote('olivia@example.com'), new Date())).toThrow(
      /already voted/,
    );
    // requirementsMet counts them once as well, and sees the owner behind the alias
    const { requirements } = pendingRequest('olivia@example.com');
    expect(
      requirementsMet({
        requirements,
        votes: [vote('olivia@example.com'), federated(['olivia@example.com'])],
      }),
    ).toBe(false);
    expect(
      requirementsMet({
        requirements,
        votes: [vote('dana@example.com'), federated(['olivia@example.com'])],
        owner: 'olivia@example.com',
      }),
    ).toBe(true); // two humans, one of them not the owner
    expect(
      requirementsMet({
        requirements: requirements.map((requirement) => ({ ...requirement, quorum: 1 })),
        votes: [federated(['olivia@example.com'])],
        owner: 'olivia@example.com',
      }),
    ).toBe(false); // the owner, signed in by sub, never approves alone
    // a different human is still a second vote
    expect(applyVote(local.record, federated(['frank@example.com']), new Date()).record.status).toBe(
      'approved',
    );
  });

  it('identities with invisible, control or whitespace characters are refused', () => {
    for (const id of INVISIBLE) {
      expect(
        () => applyVote(pendingRequest('dana@example.com'), vote(id), new Date()),
        JSON.stringify(id),
      ).toThrow(/invalid/);
    }
  });

  it('agent owners are stored in canonical form, and invisible characters are refused', async () => {
    const registry = new AgentRegistry(
      new SqliteIdentityStore({ path: join(mkdtempSync(join(tmpdir(), 'reins-identity-')), 'reins.db') }),
    );
    const agent = await registry.create({ id: 'payments-bot', owner: 'ｏｌｉｖｉａ@Example.COM' });
    expect(agent.owner).toBe('olivia@example.com');
    for (const owner of INVISIBLE) {
      await expect(registry.create({ id: 'other-bot', owner }), JSON.stringify(owner)).rejects.toThrow(
        /invalid/,
      );
    }
  });

  it('user ids that differ only in case are the same user', async () => {
    const users = new SqliteUserStore({
      path: join(mkdtempSync(join(tmpdir(), 'reins-users-')), 'reins.db'),
    });
    const { user } = await createUser(users, { id: 'Alice@Example.com', roles: ['approver'], by: 'test' });
    expect(user.id).toBe('alice@example.com');
    await expect(
      createUser(users, { id: 'alice@example.com', roles: ['approver'], by: 'test' }),
    ).rejects.toMatchObject({
      code: 'conflict',
    });
    await users.close();
  });
});
