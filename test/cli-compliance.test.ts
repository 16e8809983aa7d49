/**
 * @module test/cli-compliance.test
 * `reins compliance scan` (issue 19) on seeded deployments, real SQLite and the built CLI. The seeded
 * deployment plants each problem exactly once, beside clean counterparts of each: a dormant agent
 * (beside a new one and a suspended one), an unused grant (beside an agent that used all it holds), an
 * agent acting without an owner (beside one whose calls name theirs), an uncatalogued tool in reins.lock
 * (beside catalogued ones), an external tool without gate or compensation (beside a gated one), a pin
 * that drifted (beside pinned ones), records waiting 20 days for a published checkpoint (beside
 * records that have one) and an old credential key (beside a fresh checkpoint key). The scan finds
 * exactly those, and its least-privilege recommendation, added to the policy, decides every recorded
 * call as before (`reins policy diff`, exit 0). A clean deployment yields no finding and exit 0.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { CheckpointSigner } from '../src/audit/checkpoint.js';
import { appendCheckpoints } from '../src/export/checkpoint-file.js';
import { Harness } from '../src/harness/harness.js';
import { CURRENT_KEY_FILE, createKeyDirectory, loadKeyDirectory } from '../src/keys/key-directory.js';
import { loadPolicy } from '../src/loader/policy-files.js';
import type { AgentRecordV1 } from '../src/spec/identity.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { SqliteIdentityStore } from '../src/store/sqlite/sqlite-identity-store.js';

const ROOT = resolve(import.meta.dirname, '..');
const DAY = 86_400_000;
const NOW = Date.now();

const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: seeded }
tools:
  - { server: crm, name: db.select, risk: low, effects: [read] }
  - { server: crm, name: db.export, risk: medium, effects: [read] }
  - { server: mail, name: send, risk: high, effects: [external] }
  - { server: pay, name: transfer, risk: critical, effects: [external, irreversible] }
  - { server: files, name: write, risk: medium, effects: [write] }
rules:
  - { id: crm-reads, tool: { server: crm }, principal: { agents: [analyst, reporter, dormant-bot] }, effect: allow, reason: reads of the CRM }
  - { id: helper-reads, tool: { server: crm, name: db.select }, principal: { agents: [helper] }, effect: allow, reason: the helper looks things up }
  - { id: mail, tool: { server: mail, name: send }, principal: { agents: [reporter] }, effect: allow, reason: reports go out by mail }
  - { id: pay, tool: { server: pay }, principal: { roles: [finance] }, effect: approve, reason: payments need a human }
  - { id: scripts, tool: { server: files }, principal: { agents: [script-runner] }, effect: allow, reason: the script writes files }
`;

const CLEAN_POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: clean }
tools:
  - { server: crm, name: db.select, risk: low, effects: [read] }
  - { server: pay, name: transfer, risk: critical, effects: [external, irreversible] }
rules:
  - { id: crm-reads, tool: { server: crm }, principal: { agents: [analyst] }, effect: allow, reason: reads of the CRM }
  - { id: pay, tool: { server: pay }, principal: { roles: [finance] }, effect: approve, reason: payments need a human }
`;

interface Seeded {
  readonly directory: string;
  readonly config: string;
  readonly db: string;
}

function fingerprint(digit: string): string {
  return `sha256:${digit.repeat(64)}`;
}

function pin(when: number): object {
  return {
    fingerprint: fingerprint('a'),
    approvedAt: new Date(when).toISOString(),
    approvedBy: 'first-use',
    description: '',
    flagged: [],
  };
}

/** reins.yaml, policy, key directories and lock in a new directory; the keys' files dated as given. */
function createDeployment(policy: string, lock: object, credentialKeyAgeDays: number): Seeded {
  const directory = mkdtempSync(join(tmpdir(), 'reins-compliance-'));
  writeFileSync(join(directory, 'policy.yaml'), policy);
  const config = join(directory, 'reins.yaml');
  writeFileSync(
    config,
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: state/audit.db }
keys:
  credentials: { directory: secrets/credentials }
  checkpoints: { directory: secrets/checkpoints }
lock: pins/reins.lock
audit: { checkpoints: { publish: { directory: published } } }
`,
  );
  for (const purpose of ['credentials', 'checkpoints'])
    createKeyDirectory(join(directory, 'secrets', purpose));
  const old = (NOW - credentialKeyAgeDays * DAY) / 1000;
  utimesSync(join(directory, 'secrets/credentials', CURRENT_KEY_FILE), old, old);
  mkdirSync(join(directory, 'pins'));
  writeFileSync(join(directory, 'pins/reins.lock'), JSON.stringify({ version: 1, ...lock }, null, 2));
  return { directory, config, db: join(directory, 'state/audit.db') };
}

function agent(
  id: string,
  scopes: string[],
  createdDaysAgo: number,
  state: AgentRecordV1['state'] = 'active',
): AgentRecordV1 {
  const at = new Date(NOW - createdDaysAgo * DAY).toISOString();
  return {
    v: 1,
    id,
    owner: `${id}-owner@example.com`,
    description: '',
    scopes,
    roles: [],
    riskTier: 'medium',
    state,
    createdAt: at,
    updatedAt: at,
  };
}

/** Registers the agents and runs the calls through the real pipeline, each at its own time. */
async function seed(
  deployment: Seeded,
  agents: readonly AgentRecordV1[],
  calls: readonly {
    agent: string;
    tool: string;
    daysAgo: number;
    publishAfter?: boolean;
    owner?: string;
    delegatedBy?: string[];
  }[],
): Promise<void> {
  const identity = new SqliteIdentityStore({ path: deployment.db });
  for (const record of agents) await identity.createAgent(record);
  await identity.close();
  const signer = new CheckpointSigner(
    loadKeyDirectory(join(deployment.directory, 'secrets/checkpoints')).privateKey,
  );
  const log = new SqliteAuditLog({ path: deployment.db, signer });
  const loaded = loadPolicy(join(deployment.directory, 'policy.yaml'));
  if (!loaded.ok) throw new Error('the seeded policy does not load');
  let clock = NOW;
  const harness = new Harness({ policy: { current: loaded.policy }, audit: log, clock: () => clock });
  const published = join(deployment.directory, 'published/checkpoints.jsonl');
  mkdirSync(join(deployment.directory, 'published'), { recursive: true });
  for (const [index, call] of calls.entries()) {
    clock = NOW - call.daysAgo * DAY;
    const registered = agents.find((record) => record.id === call.agent);
    const principal = registered
      ? { agentId: call.agent, owner: registered.owner, scopes: registered.scopes }
      : {
          agentId: call.agent,
          ...(call.agent === 'helper' ? { owner: 'ops@example.com' } : {}),
          ...(call.owner !== undefined ? { owner: call.owner } : {}),
          ...(call.delegatedBy !== undefined ? { delegatedBy: call.delegatedBy } : {}),
        };
    const slash = call.tool.indexOf('/');
    const [server, name] = [call.tool.slice(0, slash), call.tool.slice(slash + 1)];
    await harness.call(
      { principal, sessionId: `s-${index}`, tool: { server, name }, args: {} } as never,
      async () => 'ok',
    );
    // what the gateway's publisher does with each checkpoint it signs
    if (call.publishAfter) appendCheckpoints(published, [(await log.checkpoint()) as never]);
  }
  await log.close();
}

function reins(cwd: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(ROOT, 'bin/reins.js'), ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, REINS_DATABASE_URL: '', REINS_CONFIG: '', REINS_TOKEN: '' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface Finding {
  code: string;
  subject: string;
  severity: string;
  evidence: string[];
  fix: string;
}

describe('reins compliance scan on a seeded deployment', () => {
  let seeded: Seeded;
  let report: {
    findings: Finding[];
    recommendation?: { policy?: string; agents: { agentId: string; nextScopes: string[] }[] };
  };
  let status: number | null;

  beforeAll(async () => {
    seeded = createDeployment(
      POLICY,
      {
        tools: Object.fromEntries(
          ['crm/db.select', 'crm/db.export', 'crm/db.drop', 'mail/send', 'pay/transfer', 'files/write'].map(
            (key) => [key, pin(NOW - 50 * DAY)],
          ),
        ),
        quarantine: {
          'files/write': {
            fingerprint: fingerprint('b'),
            reason: 'definition_changed',
            seenAt: new Date(NOW - DAY).toISOString(),
            description: '',
            pinned: fingerprint('a'),
            findings: [],
          },
        },
      },
      200,
    );
    await seed(
      seeded,
      [
        agent('analyst', ['crm/*'], 60),
        agent('reporter', ['crm/*', 'mail/*'], 60),
        agent('dormant-bot', ['crm/*'], 90),
        agent('new-bot', ['crm/*'], 1),
        agent('suspended-bot', ['crm/*'], 90, 'suspended'),
      ],
      [
        { agent: 'dormant-bot', tool: 'crm/db.select', daysAgo: 45, publishAfter: true },
        { agent: 'analyst', tool: 'crm/db.select', daysAgo: 20 },
        { agent: 'analyst', tool: 'crm/db.select', daysAgo: 2 },
        { agent: 'reporter', tool: 'crm/db.select', daysAgo: 2 },
        { agent: 'reporter', tool: 'crm/db.export', daysAgo: 2 },
        { agent: 'reporter', tool: 'mail/send', daysAgo: 1 },
        { agent: 'reporter', tool: 'pay/transfer', daysAgo: 1 }, // denied: it holds no finance role
        { agent: 'script-runner', tool: 'files/write', daysAgo: 1 },
        { agent: 'helper', tool: 'crm/db.select', daysAgo: 1 },
      ],
    );
    const recommendation = join(seeded.directory, 'candidate');
    mkdirSync(recommendation);
    const scan = reins(
      seeded.directory,
      'compliance',
      'scan',
      '--config',
      seeded.config,
      '--format',
      'json',
      '--recommend',
      recommendation,
    );
    status = scan.status;
    if (scan.stdout === '') throw new Error(`the scan printed nothing: ${scan.stderr}`);
    report = JSON.parse(scan.stdout);
  }, 60_000);

  afterAll(() => undefined);

  it('finds each planted problem and nothing else', () => {
    expect(report.findings.map((finding) => `${finding.code} ${finding.subject}`)).toEqual([
      'agent.dormant agent:dormant-bot',
      'agent.no-owner agent:script-runner',
      'audit.checkpoint-stale audit',
      'grant.unused agent:analyst',
      'key.old key:credentials',
      'pin.drifted tool:files/write',
      'tool.uncatalogued tool:crm/db.drop',
      'tool.ungated-effect tool:mail/send',
    ]);
    for (const finding of report.findings) {
      expect(finding.evidence.length).toBeGreaterThan(0);
      expect(finding.fix).not.toBe('');
    }
    // any finding fails the scan by default (--fail-on low)
    expect(status).toBe(1);
  });

  it('narrows the unused grant to what was used, and the recommendation still allows every recorded call', () => {
    expect(report.recommendation?.agents).toEqual([
      expect.objectContaining({
        agentId: 'analyst',
        unusedTools: ['crm/db.export'],
        nextScopes: ['crm/db.select'],
        olderCallsAffected: 0,
      }),
    ]);
    const candidate = join(seeded.directory, 'candidate');
    copyFileSync(join(seeded.directory, 'policy.yaml'), join(candidate, 'policy.yaml'));
    expect(readFileSync(join(candidate, 'compliance-least-privilege.yaml'), 'utf8')).toContain(
      'effect: deny',
    );
    const diff = reins(
      seeded.directory,
      'policy',
      'diff',
      '--config',
      seeded.config,
      '--base',
      join(seeded.directory, 'policy.yaml'),
      '--candidate',
      candidate,
      '--json',
    );
    expect(diff.stderr).toBe('');
    const result = JSON.parse(diff.stdout) as { calls: number; changes: unknown[]; drift: unknown[] };
    expect(result.calls).toBe(9);
    expect(result.changes).toEqual([]);
    expect(result.drift).toEqual([]);
    expect(diff.status).toBe(0);
  });

  it('a clean deployment has no finding (exit 0)', async () => {
    const clean = createDeployment(
      CLEAN_POLICY,
      { tools: { 'crm/db.select': pin(NOW - 50 * DAY), 'pay/transfer': pin(NOW - 50 * DAY) } },
      10,
    );
    await seed(
      clean,
      [agent('analyst', ['crm/db.select'], 60)],
      [{ agent: 'analyst', tool: 'crm/db.select', daysAgo: 2, publishAfter: true }],
    );
    const scan = reins(
      clean.directory,
      'compliance',
      'scan',
      '--config',
      clean.config,
      '--format',
      'markdown',
    );
    expect(scan.stderr).toBe('');
    expect(scan.stdout).toContain('Findings: 0.');
    expect(scan.status).toBe(0);
  }, 30_000);
});

/**
 * Names the log and the upstreams choose: an agent id `*` (a glob to a rule), one with a newline, a tool
 * matched by a glob catalogue entry (`docs/*`), a delegated call, a refused attempt and a call older than
 * the window. The recommendation denies only what literal rules can name (the rest is reported as not
 * expressible), the recorded calls of the window all decide as before, and the only change `reins policy
 * diff` shows is the older call the report counts. Approval gates limited to one agent or behind a
 * condition do not clear a tool for everyone.
 */
const EDGE_POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: edge }
tools:
  - { server: docs, name: '*', risk: low, effects: [read] }
  - { server: crm, name: db.select, risk: low, effects: [read] }
  - { server: crm, name: db.export, risk: medium, effects: [read] }
  - { server: pay, name: transfer, risk: critical, effects: [external] }
  - { server: mail, name: send, risk: high, effects: [external] }
rules:
  - { id: docs, tool: { server: docs }, effect: allow, reason: docs for everyone }
  - { id: crm, tool: { server: crm }, effect: allow, reason: the CRM for everyone }
  - { id: pay, tool: { server: pay }, effect: allow, reason: payments }
  - { id: pay-gate, tool: { server: pay }, principal: { agents: [lead] }, effect: approve, reason: the lead's payments need a human }
  - { id: mail, tool: { server: mail }, effect: allow, reason: mail }
  - { id: mail-gate, tool: { server: mail }, when: "size(args) > 0", effect: approve, reason: mail with arguments needs a human }
`;

describe('reins compliance scan with names a rule cannot hold, a glob catalogue and delegation', () => {
  let edge: Seeded;
  let report: {
    windowStart: string;
    findings: Finding[];
    recommendation?: {
      policy?: string;
      agents: {
        agentId: string;
        unusedTools: string[];
        notExpressible: string[];
        olderCallsAffected: number;
        olderCallsTruncated: boolean;
      }[];
    };
  };

  beforeAll(async () => {
    edge = createDeployment(EDGE_POLICY, { tools: {} }, 10);
    const owner = 'ops@example.com';
    await seed(
      edge,
      [],
      [
        { agent: 'lead', tool: 'crm/db.export', daysAgo: 40, owner },
        { agent: 'lead', tool: 'docs/read', daysAgo: 2, owner, publishAfter: true },
        { agent: 'lead', tool: 'crm/db.select', daysAgo: 2, owner },
        { agent: 'sub', tool: 'crm/db.export', daysAgo: 1, owner, delegatedBy: ['lead'] },
        { agent: 'sub', tool: 'docs/read', daysAgo: 1, owner, delegatedBy: ['lead'] },
        { agent: 'sub', tool: 'hr/fire', daysAgo: 1, owner, delegatedBy: ['lead'] }, // refused: uncatalogued
        { agent: '*', tool: 'crm/db.select', daysAgo: 1, owner },
        { agent: 'nl\nbot', tool: 'crm/db.select', daysAgo: 1, owner },
      ],
    );
    mkdirSync(join(edge.directory, 'candidate'));
    const scan = reins(
      edge.directory,
      'compliance',
      'scan',
      '--config',
      edge.config,
      '--format',
      'json',
      '--recommend',
      join(edge.directory, 'candidate'),
    );
    if (scan.stdout === '') throw new Error(`the scan printed nothing: ${scan.stderr}`);
    report = JSON.parse(scan.stdout);
  }, 60_000);

  it('denies only what a literal rule can name, and reports the rest as not expressible', () => {
    const agents = report.recommendation?.agents ?? [];
    const wildcard = agents.find((narrowing) => narrowing.agentId === '*');
    expect(wildcard?.notExpressible).toEqual(wildcard?.unusedTools);
    expect(wildcard?.unusedTools).toContain('crm/db.export');
    const newline = agents.find((narrowing) => narrowing.agentId === 'nl\nbot');
    expect(newline?.notExpressible).toEqual(newline?.unusedTools);
    const lead = agents.find((narrowing) => narrowing.agentId === 'lead');
    expect(lead).toMatchObject({ notExpressible: [], olderCallsAffected: 1, olderCallsTruncated: false });
    const written = readFileSync(join(edge.directory, 'candidate/compliance-least-privilege.yaml'), 'utf8');
    const document = parseYaml(written) as { rules: { principal: { agents: string[] } }[] };
    expect(new Set(document.rules.map((rule) => rule.principal.agents.join(',')))).toEqual(
      new Set(['lead', 'sub']),
    );
    expect(written).not.toContain('bot');
    const grant = report.findings.find((finding) => finding.subject === 'agent:*');
    expect(grant?.evidence.join('\n')).toContain('cannot be expressed as a rule');
  });

  it('decides every call of the window as before: the only change is the older call it counts', () => {
    const candidate = join(edge.directory, 'candidate');
    copyFileSync(join(edge.directory, 'policy.yaml'), join(candidate, 'policy.yaml'));
    const diff = reins(
      edge.directory,
      'policy',
      'diff',
      '--config',
      edge.config,
      '--base',
      join(edge.directory, 'policy.yaml'),
      '--candidate',
      candidate,
      '--json',
    );
    const result = JSON.parse(diff.stdout) as {
      calls: number;
      changes: { agentId: string; tool: string; time: string; recorded: string }[];
      drift: unknown[];
    };
    expect(result.calls).toBe(8);
    expect(result.drift).toEqual([]);
    expect(result.changes.map((change) => `${change.agentId} ${change.tool} ${change.recorded}`)).toEqual([
      'lead crm/db.export allow',
    ]);
    expect(Date.parse(result.changes[0]?.time ?? '')).toBeLessThan(Date.parse(report.windowStart));
  });

  it('an approve rule limited to one agent or behind a condition is a conditional gate, not a gate', () => {
    const gates = report.findings.filter((finding) => finding.code.startsWith('tool.'));
    expect(gates.map((finding) => `${finding.code} ${finding.subject} ${finding.severity}`)).toEqual([
      'tool.conditional-gate tool:mail/send medium',
      'tool.conditional-gate tool:pay/transfer medium',
    ]);
  });
});
