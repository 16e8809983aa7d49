/**
 * @module test/posture.test
 * The 25 criteria of the posture score one by one (issue 19): with the evidence present the point is
 * earned, without it the point is missing and the fix names the change; a fix's stated gain is what
 * the patched configuration scores. The log criteria read a real SQLite audit log, written with
 * signed checkpoints, through inspect/posture-log.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { CheckpointSigner } from '../src/audit/checkpoint.js';
import { applyPatches, type PostureInput, scorePosture } from '../src/inspect/posture.js';
import { readPostureLog } from '../src/inspect/posture-log.js';
import type { CriterionResult, LogReading } from '../src/inspect/posture-model.js';
import type { AuditEventV1 } from '../src/spec/audit-event.js';
import { GatewayConfigSchema } from '../src/spec/gateway-config.js';
import type { AgentRecordV1 } from '../src/spec/identity.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { intentEvent, outcomeEvent } from './support/audit-fixtures.js';

const FILE = 'policy.yaml';

function configOf(extra: Record<string, unknown> = {}) {
  return GatewayConfigSchema.parse({
    apiVersion: 'reins.dev/v1',
    kind: 'Gateway',
    policy: FILE,
    upstreams: [{ name: 'mail', http: { url: 'http://127.0.0.1:9/mcp' } }],
    ...extra,
  });
}

const NO_LOG: LogReading = { available: false, why: 'not read in this test' };

function input(policy: string, overrides: Partial<PostureInput> = {}): PostureInput {
  return {
    configFile: 'reins.yaml',
    config: configOf(),
    sources: [
      { file: FILE, text: `apiVersion: reins.dev/v1\nkind: Policy\nmetadata: { name: t }\n${policy}` },
    ],
    agents: { available: true, agents: [] },
    log: NO_LOG,
    ...overrides,
  };
}

function result(given: PostureInput, id: string, agentId?: string): CriterionResult {
  const report = scorePosture(agentId ? { ...given, agentId } : given);
  const scope = agentId ? report.agents[0] : report.deployment;
  const found = scope?.primitives.flatMap((p) => p.criteria).find((c) => c.id === id);
  if (found === undefined) throw new Error(`no ${id}`);
  return found;
}

/** Present → point; absent → no point, the fix names `fixNames`, and applying its patches earns it. */
function expectCriterion(id: string, present: PostureInput, absent: PostureInput, fixNames: string): void {
  expect(result(present, id).points, `${id} with its evidence`).toBe(1);
  const missing = result(absent, id);
  expect(missing.points, `${id} without it`).toBe(0);
  expect(missing.fix?.text).toContain(fixNames);
  if ((missing.fix?.patches.length ?? 0) > 0) {
    const patched = applyPatches(absent, missing.fix?.patches ?? []);
    expect(result(patched, id).points, `${id} after its fix`).toBe(1);
    const gain = scorePosture(patched).deployment.score - scorePosture(absent).deployment.score;
    expect(missing.fix?.gain).toBe(gain);
  }
}

function agentRecord(id: string, scopes: string[] = []): AgentRecordV1 {
  return {
    v: 1,
    id,
    owner: 'ana@example.com',
    description: '',
    scopes,
    roles: [],
    riskTier: 'medium',
    state: 'active',
    createdAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:00:00Z',
  };
}

const MAIL_TOOLS = `tools:
  - { server: mail, name: read_inbox, risk: low, effects: [read], untrustedOutput: true }
  - { server: mail, name: send, risk: high, effects: [external], sink: { args: [to], text: [body] }, reversal: { external: sent mail cannot be recalled } }
  - { server: mail, name: "*", risk: high, effects: [write] }
`;

describe('constrained execution', () => {
  it('execution.enforced', () => {
    expectCriterion(
      'execution.enforced',
      input(MAIL_TOOLS),
      input(`mode: shadow\n${MAIL_TOOLS}`),
      'mode: shadow',
    );
  });
  it('execution.default-deny', () => {
    const narrow = `${MAIL_TOOLS}rules:\n  - { id: reads, effect: allow, tool: { effects: read }, reason: r }\n`;
    const broad = `${MAIL_TOOLS}rules:\n  - { id: all, effect: allow, reason: everything }\n`;
    expectCriterion('execution.default-deny', input(narrow), input(broad), 'narrow `all`');
  });
  it('execution.catalogue', () => {
    const partial = 'tools:\n  - { server: mail, name: send, risk: high, effects: [external] }\n';
    expectCriterion('execution.catalogue', input(MAIL_TOOLS), input(partial), '`mail/*`');
  });
  it('execution.bounded', () => {
    const limited = `${MAIL_TOOLS}limits:\n  - { id: budget, reason: b, window: 1h, max: 10 }\n`;
    expectCriterion('execution.bounded', input(limited), input(MAIL_TOOLS), 'call budget');
  });
  it('execution.least-agency, for the deployment and per agent', () => {
    const agent = agentRecord;
    const narrow = input(MAIL_TOOLS, {
      agents: { available: true, agents: [agent('a', ['mail/read_inbox'])] },
    });
    const broad = input(MAIL_TOOLS, {
      agents: { available: true, agents: [agent('a', ['mail/read_inbox']), agent('b', ['*'])] },
    });
    expectCriterion('execution.least-agency', narrow, broad, 'replace `b`');
    expect(result(broad, 'execution.least-agency', 'a').points).toBe(1);
    expect(result(broad, 'execution.least-agency', 'b').points).toBe(0);
    expect(result(input(MAIL_TOOLS), 'execution.least-agency').evidence).toEqual([
      'no active agent is registered',
    ]);
  });
});

const SEND_ALLOWED = `${MAIL_TOOLS}rules:\n  - { id: send, effect: allow, principal: { roles: [mailer] }, tool: { server: mail, name: send }, reason: s }\n`;
const SEND_GATED = `${MAIL_TOOLS}rules:\n  - { id: send, effect: approve, tool: { server: mail, name: send }, reason: s }\n`;

describe('approval gates', () => {
  it('approval.high-impact', () => {
    expectCriterion('approval.high-impact', input(SEND_GATED), input(SEND_ALLOWED), '`mail/send`');
  });
  it('approval.no-undo-gated', () => {
    const writes = `${MAIL_TOOLS}rules:\n  - { id: w, effect: allow, tool: { server: mail, name: "*" }, reason: w }\n  - { id: s, effect: approve, tool: { server: mail, name: send }, reason: s }\n`;
    const gated = `${writes}  - { id: g, effect: approve, tool: { server: mail, name: "*", effects: [write] }, reason: g }\n`;
    expectCriterion('approval.no-undo-gated', input(gated), input(writes), '`mail/*`');
  });
  it('approval.separation-of-duties', () => {
    const own = `${MAIL_TOOLS}rules:\n  - { id: send, effect: approve, tool: { server: mail, name: send }, reason: s, approval: { ownerMayApprove: true } }\n`;
    expectCriterion(
      'approval.separation-of-duties',
      input(SEND_GATED),
      input(own),
      'remove `ownerMayApprove`',
    );
  });
  it('approval.notified', () => {
    const notified = input(MAIL_TOOLS, {
      config: configOf({ approvals: { webhook: 'https://chat.example.com/hook' } }),
    });
    expectCriterion('approval.notified', notified, input(MAIL_TOOLS), '`approvals.webhook`');
  });
});

describe('provenance tracking and rollback (configuration)', () => {
  it('provenance.untrusted-declared', () => {
    const trusted = MAIL_TOOLS.replace(', untrustedOutput: true', '');
    expectCriterion(
      'provenance.untrusted-declared',
      input(MAIL_TOOLS),
      input(trusted),
      'untrustedOutput: true',
    );
  });
  it('provenance.sinks-declared', () => {
    const noSink = SEND_GATED.replace(', sink: { args: [to], text: [body] }', '');
    expectCriterion('provenance.sinks-declared', input(SEND_GATED), input(noSink), 'sink:');
  });
  it('provenance.flows', () => {
    const flows = `${SEND_GATED}flows:\n  - { id: f, reason: f, tool: { effects: external } }\n`;
    expectCriterion('provenance.flows', input(flows), input(SEND_GATED), 'provenance `flows` rule');
  });
  it('logs.checkpoints-published, logs.redaction, logs.durable', () => {
    const published = input(MAIL_TOOLS, {
      config: configOf({ audit: { checkpoints: { publish: { directory: '/srv/cp' } } } }),
    });
    expectCriterion('logs.checkpoints-published', published, input(MAIL_TOOLS), 'publish checkpoints');
    const redaction = `${MAIL_TOOLS}redaction: { outputs: { secret: redact } }\n`;
    expectCriterion('logs.redaction', input(redaction), input(MAIL_TOOLS), 'redaction:');
    const leaky = `${MAIL_TOOLS}redaction: { outputs: { secret: allow } }\n`;
    expect(result(input(leaky), 'logs.redaction').points).toBe(0);
    const loose = input(MAIL_TOOLS, { config: configOf({ store: { durability: 'process' } }) });
    expectCriterion('logs.durable', input(MAIL_TOOLS), loose, 'durability: causal');
  });
  it('rollback.profiles, rollback.writes-declared, rollback.operators', () => {
    const fsConfig = configOf({
      upstreams: [
        { name: 'fs', stdio: { command: 'npx', args: ['@modelcontextprotocol/server-filesystem', '.'] } },
      ],
    });
    const fsTools = `tools:\n  - { server: fs, name: write_file, risk: medium, effects: [write] }\n  - { server: fs, name: "*", risk: high, effects: [write] }\nrules:\n  - { id: w, effect: approve, tool: { server: fs, name: write_file }, reason: w }\n`;
    const withProfile = `${fsTools}rollback: { profiles: [{ profile: server-filesystem, server: fs }], operators: [responder] }\n`;
    expectCriterion(
      'rollback.profiles',
      input(withProfile, { config: fsConfig }),
      input(fsTools, { config: fsConfig }),
      'server-filesystem',
    );
    expectCriterion(
      'rollback.writes-declared',
      input(withProfile, { config: fsConfig }),
      input(fsTools, { config: fsConfig }),
      '`fs/write_file`',
    );
    expectCriterion('rollback.operators', input(withProfile), input(fsTools), 'rollback.operators');
  });
});

const withAgents = (policy: string, ...ids: string[]) =>
  input(policy, { agents: { available: true, agents: ids.map((id) => agentRecord(id)) } });

describe('which tools a scope can reach and which are gated (review findings)', () => {
  const SEND = `${MAIL_TOOLS}rules:\n  - { id: send, effect: allow, tool: { server: mail, name: send }, reason: s }\n`;

  it('a deny aimed at one agent leaves the tool reachable for the deployment', () => {
    const policy = `${SEND}  - { id: no-intern, effect: deny, principal: { agents: [intern] }, tool: { server: mail, name: send }, reason: n }\n`;
    const given = withAgents(policy, 'intern', 'clerk');
    for (const id of ['approval.high-impact', 'approval.no-undo-gated'])
      expect(result(given, id).points, id).toBe(0);
    expect(result(given, 'approval.high-impact', 'intern').points).toBe(1);
    expect(result(given, 'approval.high-impact', 'clerk').points).toBe(0);
    const everyone = `${SEND}  - { id: no-one, effect: deny, tool: { server: mail, name: send }, reason: n }\n`;
    expect(result(input(everyone), 'approval.high-impact').points).toBe(1);
  });

  const FS = `tools:
  - { server: fs, name: read_file, risk: low, effects: [read] }
  - { server: fs, name: "*", risk: high, effects: [write] }
rules:
`;

  it('a rule naming a tool the catalogue covers only by its catch-all reaches the catch-all', () => {
    const deletes = `${FS}  - { id: d, effect: allow, tool: { server: fs, name: delete_file }, reason: d }\n`;
    for (const id of ['approval.high-impact', 'approval.no-undo-gated', 'rollback.writes-declared'])
      expect(result(input(deletes), id).points, id).toBe(0);
    // a tool with an entry of its own before the catch-all takes that entry's facts instead
    const reads = `${FS}  - { id: r, effect: allow, tool: { server: fs, name: read_file }, reason: r }\n`;
    expect(result(input(reads), 'approval.high-impact').points).toBe(1);
  });

  it('a deny makes an entry unreachable only when it covers every call of it', () => {
    const all = `${FS}  - { id: a, effect: allow, tool: { server: fs }, reason: a }\n`;
    const deny = (name: string) =>
      `${all}  - { id: x, effect: deny, tool: { server: fs, name: "${name}" }, reason: x }\n`;
    expect(result(input(deny('delete_file')), 'approval.high-impact').points).toBe(0);
    expect(result(input(deny('?')), 'approval.high-impact').points).toBe(0);
    expect(result(input(deny('*')), 'approval.high-impact').points).toBe(1);
  });

  it('an approve rule limited to one agent or by a condition does not gate the deployment', () => {
    const gate = (extra: string) =>
      `${SEND}  - { id: g, effect: approve, ${extra}tool: { server: mail, name: send }, reason: g }\n`;
    expect(result(input(gate('')), 'approval.high-impact').points).toBe(1);
    const forOne = withAgents(gate('principal: { agents: [clerk] }, '), 'clerk', 'intern');
    expect(result(forOne, 'approval.high-impact').points).toBe(0);
    expect(result(forOne, 'approval.high-impact', 'clerk').points).toBe(1);
    expect(result(forOne, 'approval.high-impact', 'intern').points).toBe(0);
    const conditional = gate('when: \'args.to.endsWith("@partner.com")\', ');
    expect(result(input(conditional), 'approval.high-impact').points).toBe(0);
    // with no allow rule for the tool, whatever gets through was held: the gate holds for everyone
    const only = `${MAIL_TOOLS}rules:\n  - { id: g, effect: approve, principal: { agents: [clerk] }, tool: { server: mail, name: send }, reason: g }\n`;
    expect(result(input(only), 'approval.high-impact').points).toBe(1);
  });
});

describe('criteria read from a real audit log', () => {
  const key = generateKeyPairSync('ed25519');

  async function logOf(events: AuditEventV1[]): Promise<LogReading> {
    const path = join(mkdtempSync(join(tmpdir(), 'reins-posture-log-')), 'audit.db');
    const writer = new SqliteAuditLog({
      path,
      signer: new CheckpointSigner(key.privateKey),
      checkpointEvery: 2,
    });
    for (const event of events) await writer.append(event);
    await writer.close();
    const reader = new SqliteAuditLog({ path, readOnly: true });
    try {
      return {
        available: true,
        evidence: await readPostureLog(reader, {
          where: path,
          publicKey: [key.publicKey],
          checkpointEvery: 2,
        }),
      };
    } finally {
      await reader.close();
    }
  }

  const linked = (index: number, extra: Partial<Record<string, unknown>> = {}): AuditEventV1 =>
    ({
      ...intentEvent(index),
      provenance: { request: { text: 'tidy my notes', via: 'call' }, sources: [] },
      ...extra,
    }) as AuditEventV1;

  it('earns the log points the records show, and no more', async () => {
    const held = {
      ...linked(3),
      decision: { ...(intentEvent(3) as { decision: object }).decision, effect: 'approve' },
    } as AuditEventV1;
    const capture = {
      name: 'before',
      tool: 'read_file',
      args: { path: 'notes.md' },
      ok: true,
      hash: '0'.repeat(64),
      bytes: 3,
      view: 'old',
    };
    const reversible = linked(4, { reversal: { kind: 'reversible', captures: [capture] } });
    const events = [
      linked(1),
      outcomeEvent(1, 'ok'),
      held,
      { ...outcomeEvent(3, 'ok'), approval: { approved: true, by: 'bo@example.com' } } as AuditEventV1,
      reversible,
      outcomeEvent(4, 'ok'),
    ];
    const log = await logOf(events);
    const given = input(MAIL_TOOLS, { log });
    for (const id of [
      'approval.exercised',
      'provenance.links-recorded',
      'provenance.requests-declared',
      'logs.chain-verifies',
      'logs.checkpoints-signed',
      'rollback.captured',
    ])
      expect(result(given, id).points, id).toBe(1);
    const rehearsed = result(given, 'rollback.rehearsed');
    expect(rehearsed.points).toBe(0);
    expect(rehearsed.fix?.text).toContain('reins rollback');
    expect(rehearsed.fix?.patches).toEqual([]);
  });

  it('misses them when the records lack the evidence', async () => {
    const log = await logOf([
      intentEvent(1, { sessionId: 's1' }),
      outcomeEvent(1, 'ok', { sessionId: 's1' }),
    ]);
    const given = input(MAIL_TOOLS, { log });
    expect(result(given, 'provenance.links-recorded').evidence[0]).toContain(
      '0 of 1 call intent(s) carry provenance links',
    );
    expect(result(given, 'provenance.requests-declared').fix?.text).toContain('reins.dev/user-request');
    expect(result(given, 'approval.exercised').points).toBe(0);
    expect(result(given, 'rollback.captured').points).toBe(0);
    expect(result(given, 'logs.chain-verifies').points).toBe(1);
    const unsigned = await (async () => {
      const reading = await logOf([intentEvent(1)]);
      if (!reading.available) throw new Error('no log');
      return {
        ...reading,
        evidence: { ...reading.evidence, chain: { ...reading.evidence.chain, signaturesChecked: false } },
      };
    })();
    expect(result(input(MAIL_TOOLS, { log: unsigned }), 'logs.checkpoints-signed').points).toBe(0);
  });

  it('does not count reversible calls recorded without the state to undo them', async () => {
    const bare = linked(1, { reversal: { kind: 'reversible', captures: [] } });
    const log = await logOf([bare, outcomeEvent(1, 'ok')]);
    const captured = result(input(MAIL_TOOLS, { log }), 'rollback.captured');
    expect(captured.points).toBe(0);
    expect(captured.evidence[0]).toContain('1 call(s) recorded reversible (0 with captured state)');
  });

  it('checks the chain against the published checkpoints: a cut tail loses logs.chain-verifies', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'reins-posture-cut-')), 'audit.db');
    const writer = new SqliteAuditLog({
      path,
      signer: new CheckpointSigner(key.privateKey),
      checkpointEvery: 2,
    });
    for (const index of [1, 2, 3]) {
      await writer.append(linked(index));
      await writer.append(outcomeEvent(index, 'ok'));
    }
    await writer.close();
    const published = await (async () => {
      const reader = new SqliteAuditLog({ path, readOnly: true });
      try {
        return await reader.checkpoints();
      } finally {
        await reader.close();
      }
    })();
    const kept = published.at(-2)?.seq ?? 0;
    // an intruder cuts the last records and the checkpoints in the database that would betray it
    const database = new Database(path);
    database.exec(`delete from audit_events where seq > ${kept}; delete from audit_checkpoints where seq > ${kept};
      delete from audit_lookup where seq > ${kept}; update audit_lookup_state set last_seq = min(last_seq, ${kept});`);
    database.close();
    const reader = new SqliteAuditLog({ path, readOnly: true });
    try {
      const read = (extra: { published?: typeof published }) =>
        readPostureLog(reader, { where: path, publicKey: [key.publicKey], checkpointEvery: 2, ...extra });
      expect((await read({})).chain.ok).toBe(true); // from inside, a shorter valid log
      const evidence = await read({ published });
      expect(evidence.chain.ok).toBe(false);
      const given = input(MAIL_TOOLS, { log: { available: true, evidence } });
      expect(result(given, 'logs.chain-verifies').points).toBe(0);
    } finally {
      await reader.close();
    }
  });

  it('counts an agent only its own calls', async () => {
    const log = await logOf([linked(1), intentEvent(2, { agentId: 'agent-b', sessionId: 's2' })]);
    if (!log.available) throw new Error('no log');
    expect(log.evidence.byAgent['agent-a']?.linked).toBe(1);
    expect(log.evidence.byAgent['agent-b']?.linked).toBe(0);
    expect(log.evidence.all.intents).toBe(2);
  });
});
