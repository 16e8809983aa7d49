/**
 * @module test/posture-cache.test
 * The posture report `GET /v1/posture` serves (cli/posture-cache): computed at most once a minute per
 * agent key, concurrent requests sharing one computation, failures not kept, `computedAt` stated; and
 * the composition scores the policy in force or refuses (cli/posture-command `inForceHash`).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cachedPosture } from '../src/cli/posture-cache.js';
import { postureOfStores } from '../src/cli/posture-command.js';
import type { PostureReport } from '../src/inspect/posture-model.js';
import { readPolicySources } from '../src/loader/policy-files.js';
import { hashSources } from '../src/policy/compile-policy.js';
import { GatewayConfigSchema } from '../src/spec/gateway-config.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import type { IdentityStore } from '../src/store/state-stores.js';

/** A report scoring the deployment and the given agents (only what the cache looks at is real). */
function reportOf(agentIds: readonly string[]): PostureReport {
  return {
    generatedAt: 'then',
    agents: agentIds.map((agentId) => ({ scope: { kind: 'agent', agentId } })),
  } as unknown as PostureReport;
}

/** An underlying computation that counts its calls and can be held until released. */
function counting(active: readonly string[] = []) {
  const calls: (string | undefined)[] = [];
  let release: () => void = () => {};
  let gate = Promise.resolve();
  const compute = async (agentId?: string): Promise<PostureReport> => {
    calls.push(agentId);
    await gate;
    if (agentId === 'nobody') throw new Error('no agent `nobody`');
    return reportOf(agentId === undefined ? active : [agentId]);
  };
  const hold = () => {
    gate = new Promise((resolve) => {
      release = resolve;
    });
  };
  return { calls, compute, hold, release: () => release() };
}

describe('the posture report served by the control plane', () => {
  it('computes once for concurrent requests and serves it for a minute', async () => {
    let clock = 1_000_000;
    const source = counting();
    const posture = cachedPosture(source.compute, { now: () => clock });
    source.hold();
    const both = Promise.all([posture(), posture()]);
    source.release();
    const [first, second] = await both;
    expect(source.calls).toEqual([undefined]);
    expect(first).toBe(second);
    expect(first.computedAt).toBe(new Date(1_000_000).toISOString());
    clock += 59_000;
    expect(await posture()).toBe(first);
    expect(source.calls).toHaveLength(1);
    clock += 1_000;
    const later = await posture();
    expect(source.calls).toHaveLength(2);
    expect(later.computedAt).toBe(new Date(1_060_000).toISOString());
  });

  it("answers an agent from the deployment's report, and computes only an agent it lacks", async () => {
    const source = counting(['clerk', 'intern']);
    const posture = cachedPosture(source.compute);
    const clerk = await posture('clerk');
    expect(clerk.agents.map(({ scope }) => scope)).toEqual([{ kind: 'agent', agentId: 'clerk' }]);
    await posture('intern');
    await posture();
    expect(source.calls).toEqual([undefined]);
    await posture('retired-bot');
    await posture('retired-bot');
    expect(source.calls).toEqual([undefined, 'retired-bot']);
  });

  it('does not keep a failure, and keeps at most the entries it is told', async () => {
    const source = counting();
    const posture = cachedPosture(source.compute, { maxEntries: 3 });
    await expect(Promise.all([posture('nobody'), posture('nobody')])).rejects.toThrow('no agent');
    await expect(posture('nobody')).rejects.toThrow('no agent');
    expect(source.calls).toEqual([undefined, 'nobody', 'nobody']);
    await posture('x');
    await posture('y'); // the deployment's, `x` and `y` are kept
    await posture('z'); // evicts `x`, the oldest agent's (the deployment's stays)
    await posture('x');
    await posture();
    expect(source.calls).toEqual([undefined, 'nobody', 'nobody', 'x', 'y', 'z', 'x']);
  });
});

describe('the policy the control plane scores', () => {
  const directory = mkdtempSync(join(tmpdir(), 'reins-posture-in-force-'));
  const policy = join(directory, 'policy.yaml');
  writeFileSync(
    policy,
    'apiVersion: reins.dev/v1\nkind: Policy\nmetadata: { name: t }\ntools:\n  - { server: mail, name: "*", risk: high, effects: [write] }\n',
  );
  const config = GatewayConfigSchema.parse({
    apiVersion: 'reins.dev/v1',
    kind: 'Gateway',
    policy,
    upstreams: [{ name: 'mail', http: { url: 'http://127.0.0.1:9/mcp' } }],
  });
  const hash = (() => {
    const read = readPolicySources(policy);
    if (!read.ok) throw new Error(read.message);
    return hashSources(read.sources);
  })();

  async function scoreWith(inForceHash: string) {
    const audit = new SqliteAuditLog({ path: join(directory, 'audit.db') });
    try {
      // the identity store is the one part faked: the score only lists its agents
      const identity = { listAgents: async () => [] } as unknown as IdentityStore;
      return await postureOfStores('reins.yaml', config, { audit, identity, where: 'db' }, { inForceHash });
    } finally {
      await audit.close();
    }
  }

  it('is the policy in force: files that hash otherwise are refused, not scored', async () => {
    expect((await scoreWith(hash)).deployment.max).toBe(25);
    await expect(scoreWith('sha256:the-previous-version')).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('not the policy in force (sha256:the-previous-version)'),
    });
  });
});
