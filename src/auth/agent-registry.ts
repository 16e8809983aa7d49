/**
 * @module auth/agent-registry
 * Agents as first-class identities: create, list, show, suspend, resume, retire. Suspending (the kill
 * switch) also revokes every credential the agent holds, in every process sharing the store; resuming
 * does not bring those back (new credentials must be issued). Retiring is final.
 */

import { REVOCATION_RETENTION_MS } from '../identity/tokens.js';
import { ReinsError } from '../spec/errors.js';
import { type AgentRecordV1, AgentRecordV1Schema } from '../spec/identity.js';
import { parseScopes } from '../spec/scopes.js';
import type { IdentityStore } from '../store/state-stores.js';

export interface NewAgent {
  readonly id: string;
  readonly owner: string;
  readonly description?: string;
  readonly scopes?: readonly string[];
  readonly roles?: readonly string[];
  readonly riskTier?: AgentRecordV1['riskTier'];
}

export class AgentRegistry {
  constructor(
    private readonly store: IdentityStore,
    private readonly clock: () => number = Date.now,
  ) {}

  async create(input: NewAgent): Promise<AgentRecordV1> {
    const now = new Date(this.clock()).toISOString();
    const parsed = AgentRecordV1Schema.safeParse({
      v: 1,
      ...input,
      ...(input.scopes ? { scopes: parseScopes(input.scopes) } : {}),
      state: 'active',
      createdAt: now,
      updatedAt: now,
    });
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ReinsError(
        'invalid_input',
        `invalid agent: \`${issue?.path.join('.') ?? ''}\`: ${issue?.message ?? ''}`,
      );
    }
    return this.store.createAgent(parsed.data);
  }

  list(): Promise<AgentRecordV1[]> {
    return this.store.listAgents();
  }

  async show(id: string): Promise<AgentRecordV1> {
    const agent = await this.store.getAgent(id);
    if (agent === undefined) throw new ReinsError('not_found', `unknown agent \`${id}\``);
    return agent;
  }

  /** Kill switch: no further call passes, and every credential issued so far is revoked. */
  async suspend(id: string, change: { by: string; reason: string }): Promise<AgentRecordV1> {
    const agent = await this.store.setAgentState(id, 'suspended', change);
    await this.revokeCredentials(id, change);
    return agent;
  }

  resume(id: string, change: { by: string; reason: string }): Promise<AgentRecordV1> {
    return this.store.setAgentState(id, 'active', change);
  }

  async retire(id: string, change: { by: string; reason: string }): Promise<AgentRecordV1> {
    const agent = await this.store.setAgentState(id, 'retired', change);
    await this.revokeCredentials(id, change);
    return agent;
  }

  private revokeCredentials(id: string, change: { by: string; reason: string }): Promise<void> {
    const now = this.clock();
    return this.store.revoke({
      kind: 'agent',
      id,
      at: new Date(now).toISOString(),
      until: new Date(now + REVOCATION_RETENTION_MS).toISOString(),
      by: change.by,
      reason: change.reason,
    });
  }
}
