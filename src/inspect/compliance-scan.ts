/**
 * @module inspect/compliance-scan
 * The continuous compliance scan (issue 19): reads the audit log, the agents, the policy in force and
 * what the composition hands it as data (the pins of reins.lock, the ages of the signing keys, the
 * published checkpoints, a chain verification), and reports each problem once with its evidence and a
 * concrete fix. `reins compliance scan` and the scheduled scan of `reins serve` both run this.
 * docs/compliance.md lists the codes and thresholds.
 */
import { isGlob } from '../policy/glob.js';
import type { PreparedPolicy } from '../policy/prepared-policy.js';
import type { AuditCheckpointV1 } from '../spec/audit-checkpoint.js';
import type {
  ComplianceCheck,
  ComplianceFinding,
  ComplianceReport,
  ComplianceThresholds,
} from '../spec/compliance.js';
import { describeError } from '../spec/errors.js';
import type { AgentRecordV1 } from '../spec/identity.js';
import type { ToolRef } from '../spec/tool-call.js';
import type { AuditLog } from '../store/audit-log.js';
import { ungatedEffects } from './compliance-gates.js';
import {
  expressibleTools,
  RECOMMENDATION_NAME,
  recommendationPolicy,
  refOf,
  reviewGrants,
} from './compliance-grants.js';
import { type AgentUsage, countOlderCalls, readUsage } from './compliance-usage.js';

export { RECOMMENDATION_NAME };

const DAY_MS = 86_400_000;

/** A tool definition of reins.lock, pinned or in quarantine. */
export interface LockedTool {
  /** `<upstream>/<tool>`. */
  readonly key: string;
  readonly status: 'pinned' | 'definition_changed' | 'suspicious_description' | 'not_pinned';
  /** When it was approved or seen (ISO 8601). */
  readonly since: string;
}

/** A signing key of the deployment; `createdAt` unknown when its source says nothing (an environment variable). */
export interface SigningKeyAge {
  readonly purpose: 'credentials' | 'checkpoints';
  /** Where it is kept, for messages. */
  readonly source: string;
  readonly createdAt?: Date;
}

/** A verification of the chain, as `reins audit verify` does it. */
export type ChainVerification =
  | {
      readonly ok: true;
      readonly checked: number;
      /** False when no trusted key was at hand: checkpoint hashes were compared, signatures not checked. */
      readonly signaturesChecked: boolean;
    }
  | { readonly ok: false; readonly message: string };

export interface ComplianceSources {
  readonly audit: AuditLog;
  readonly policy: PreparedPolicy;
  readonly agents: readonly AgentRecordV1[];
  /** The tools of reins.lock; undefined: no lock to read (the check is skipped and says so). */
  readonly lock?: { readonly path: string; readonly tools: readonly LockedTool[] };
  readonly keys: readonly SigningKeyAge[];
  /**
   * Where checkpoints are published: undefined when no configuration says (the check is skipped);
   * `targets` empty: none configured; `published` the readable copies (a directory target), undefined
   * when the only targets cannot be read back (webhook, OTLP).
   */
  readonly checkpoints?: {
    readonly targets: readonly string[];
    readonly published?: readonly AuditCheckpointV1[];
  };
  /**
   * Verifies the chain (with published checkpoints and trusted keys); the scan bounds when it runs.
   * `{ skipped }`: not verified by this scan (the scheduled scan of `reins serve` leaves the full walk
   * to `reins compliance scan` and `reins audit verify`, so that it never stalls the gateway), and why.
   */
  readonly verifyChain: (() => Promise<ChainVerification>) | { readonly skipped: string };
  readonly now: number;
  readonly thresholds: ComplianceThresholds;
}

export async function scanCompliance(sources: ComplianceSources): Promise<ComplianceReport> {
  const { now, thresholds } = sources;
  const at = new Date(now).toISOString();
  const windowStart = new Date(now - thresholds.unusedAfterMs).toISOString();
  const windowDays = Math.round(thresholds.unusedAfterMs / DAY_MS);
  const findings: ComplianceFinding[] = [];
  const checks: ComplianceCheck[] = [];
  const usage = await readUsage(sources.audit, windowStart, at);

  findings.push(...dormantAgents(sources.agents, usage, windowStart, windowDays));
  findings.push(...ownerless(sources.agents, usage));
  checks.push({
    name: 'agents',
    status: 'done',
    note: `${sources.agents.length} registered, ${usage.size} acting in the window`,
  });

  const tools = toolUniverse(sources.policy, sources.lock?.tools ?? [], usage);
  const grants = reviewGrants(sources.policy, sources.agents, usage, tools, windowDays);
  for (const narrowing of grants.narrowings)
    for (const tool of expressibleTools(narrowing)) {
      const older = await countOlderCalls(sources.audit, narrowing.agentId, tool, windowStart);
      narrowing.olderCallsAffected += older.count;
      if (older.truncated) narrowing.olderCallsTruncated = true;
    }
  findings.push(...grants.findings);
  checks.push({ name: 'grants', status: 'done', note: `${tools.length} tools considered` });

  findings.push(...ungatedEffects(sources.policy, tools));
  if (sources.lock === undefined)
    checks.push({ name: 'pins', status: 'skipped', note: 'no reins.lock to read' });
  else {
    findings.push(...lockFindings(sources.policy, sources.lock));
    checks.push({
      name: 'pins',
      status: 'done',
      note: `${sources.lock.tools.length} tools in ${sources.lock.path}`,
    });
  }

  const chain = await chainHealth(sources);
  findings.push(...chain.findings);
  checks.push(chain.check);
  const publication = await checkpointFindings(sources, at);
  findings.push(...publication.findings);
  checks.push(publication.check);
  findings.push(...keyFindings(sources.keys, now, thresholds.keyMaxAgeMs));
  checks.push({
    name: 'keys',
    status: sources.keys.some((key) => key.createdAt === undefined) ? 'unknown' : 'done',
    note: sources.keys.map(describeKeyAge(now)).join('; ') || 'no signing key',
  });

  const policy = recommendationPolicy(grants.narrowings, at, windowStart);
  return {
    at,
    windowStart,
    thresholds: { ...thresholds },
    findings: findings.sort(byCodeAndSubject),
    checks,
    ...(grants.narrowings.length > 0
      ? { recommendation: { ...(policy !== undefined ? { policy } : {}), agents: grants.narrowings } }
      : {}),
  };
}

/** Registered active agents that have not acted in the window, though they could have. */
function dormantAgents(
  agents: readonly AgentRecordV1[],
  usage: ReadonlyMap<string, AgentUsage>,
  windowStart: string,
  windowDays: number,
): ComplianceFinding[] {
  return agents
    .filter(
      (agent) =>
        agent.state === 'active' &&
        Date.parse(agent.createdAt) < Date.parse(windowStart) &&
        !hasExercised(usage.get(agent.id)),
    )
    .map((agent) => ({
      code: 'agent.dormant',
      severity: 'medium',
      subject: `agent:${agent.id}`,
      message: `agent \`${agent.id}\` can still be issued credentials but has made no allowed call in ${windowDays} days`,
      evidence: [
        `registered ${agent.createdAt} by owner ${agent.owner}, scopes ${agent.scopes.join(', ') || '(none)'}`,
        `${usage.get(agent.id)?.calls ?? 0} call records since ${windowStart}, none allowed or held`,
      ],
      fix: `suspend it (\`reins agents suspend ${agent.id}\`) or retire it (\`reins agents retire ${agent.id}\`) until it is needed`,
    }));
}

function hasExercised(entry: AgentUsage | undefined): boolean {
  return entry !== undefined && entry.exercised.size > 0;
}

/** Agents that act without a registered identity and without naming an accountable human. */
function ownerless(
  agents: readonly AgentRecordV1[],
  usage: ReadonlyMap<string, AgentUsage>,
): ComplianceFinding[] {
  const registered = new Set(agents.map((agent) => agent.id));
  return [...usage.values()]
    .filter((entry) => !registered.has(entry.agentId) && !entry.ownerSeen)
    .map((entry) => ({
      code: 'agent.no-owner',
      severity: 'medium',
      subject: `agent:${entry.agentId}`,
      message: `agent \`${entry.agentId}\` acts without an owner: it is not registered and its calls name no accountable human`,
      evidence: [
        `${entry.calls} call records in the window without \`principal.owner\` (seq ${entry.firstSeq}..${entry.lastSeq})`,
      ],
      fix: `register it with its owner (\`reins agents create ${entry.agentId} --owner <human> --scopes <tools>\`) and give it a credential, or pass \`owner\` with its principal`,
    }));
}

/**
 * Every tool the scan can name: in reins.lock, named literally in the catalogue, or called in the
 * window. Names a rule cannot hold literally stay in (their grants are reviewed and reported); the
 * recommendation leaves them out (compliance-grants `expressibleTools`).
 */
function toolUniverse(
  policy: PreparedPolicy,
  locked: readonly LockedTool[],
  usage: ReadonlyMap<string, AgentUsage>,
): ToolRef[] {
  const names = new Set<string>();
  for (const tool of locked) names.add(tool.key);
  for (const document of policy.documents)
    for (const entry of document.tools)
      if (!isGlob(entry.server) && !isGlob(entry.name)) names.add(`${entry.server}/${entry.name}`);
  for (const entry of usage.values()) for (const tool of entry.exercised.keys()) names.add(tool);
  return [...names].sort().map(refOf);
}

/** Tools in reins.lock the catalogue does not describe, and definitions that drifted from their pin. */
function lockFindings(
  policy: PreparedPolicy,
  lock: NonNullable<ComplianceSources['lock']>,
): ComplianceFinding[] {
  const findings: ComplianceFinding[] = [];
  for (const tool of lock.tools) {
    const ref = refOf(tool.key);
    if (policy.toolFacts(ref) === undefined)
      findings.push({
        code: 'tool.uncatalogued',
        severity: 'low',
        subject: `tool:${tool.key}`,
        message: `\`${tool.key}\` is offered by its upstream but the policy's catalogue does not describe it (every call is denied as unknown)`,
        evidence: [`${lock.path}: ${tool.status === 'pinned' ? 'pinned' : 'seen'} ${tool.since}`],
        fix: `describe it in the policy: \`tools: [{ server: ${ref.server}, name: ${JSON.stringify(ref.name)}, risk: <low|medium|high|critical>, effects: [<read|write|external|irreversible>] }]\`, or stop offering it upstream`,
      });
    if (tool.status === 'pinned') continue;
    const drifted = tool.status === 'definition_changed';
    findings.push({
      code: drifted ? 'pin.drifted' : 'pin.quarantined',
      severity: drifted ? 'high' : 'medium',
      subject: `tool:${tool.key}`,
      message: drifted
        ? `the definition of \`${tool.key}\` changed since it was approved: the gateway quarantines it`
        : `\`${tool.key}\` is in quarantine (${tool.status.replaceAll('_', ' ')})`,
      evidence: [`${lock.path}: quarantined (${tool.status}) since ${tool.since}`],
      fix: `review the new definition (\`reins tools list\`), then \`reins tools approve ${tool.key} --by <you>\`, or remove the tool upstream`,
    });
  }
  return findings;
}

/** The chain as `reins audit verify` checks it, unless the log is longer than a scan verifies. */
async function chainHealth(
  sources: ComplianceSources,
): Promise<{ findings: ComplianceFinding[]; check: ComplianceCheck }> {
  const [head] = await sources.audit.queryIndex({ order: 'desc', limit: 1 });
  const bound = sources.thresholds.maxVerifyRecords;
  if (head !== undefined && head.seq > bound)
    return {
      findings: [
        {
          code: 'audit.chain-unverified',
          severity: 'low',
          subject: 'audit',
          message: `the log holds ${head.seq} records, more than a scan verifies (${bound})`,
          evidence: [`head record ${head.seq} at ${head.time}`],
          fix: 'run `reins audit verify --checkpoints <published>` (it walks the whole chain), or raise `compliance.maxVerifyRecords`',
        },
      ],
      check: { name: 'audit chain', status: 'skipped', note: `longer than ${bound} records` },
    };
  if (typeof sources.verifyChain !== 'function')
    return {
      findings: [],
      check: { name: 'audit chain', status: 'skipped', note: sources.verifyChain.skipped },
    };
  let result: ChainVerification;
  try {
    result = await sources.verifyChain();
  } catch (error) {
    result = { ok: false, message: describeError(error) };
  }
  if (result.ok && result.signaturesChecked)
    return {
      findings: [],
      check: { name: 'audit chain', status: 'done', note: `${result.checked} records verify` },
    };
  if (result.ok)
    return {
      findings: [
        {
          code: 'audit.signatures-unchecked',
          severity: 'medium',
          subject: 'audit',
          message:
            'the chain links verify, but no trusted checkpoint key was at hand: the signatures of the checkpoints were not checked, so a rewrite of the whole log with new checkpoints would not show',
          evidence: [
            `${result.checked} records link; no public key of the checkpoints key source to check against`,
          ],
          fix: 'give the scan the checkpoints key (`keys.checkpoints` in reins.yaml, or its public key), then scan again or run `reins audit verify`',
        },
      ],
      check: {
        name: 'audit chain',
        status: 'unknown',
        note: `${result.checked} records link, checkpoint signatures not checked`,
      },
    };
  return {
    findings: [
      {
        code: 'audit.chain-broken',
        severity: 'critical',
        subject: 'audit',
        message: 'the audit chain does not verify',
        evidence: [result.message],
        fix: 'run `reins audit verify` for the first bad record, treat everything from it on as untrusted, and investigate (docs/decisions/0012-audit-tamper-evidence.md)',
      },
    ],
    check: { name: 'audit chain', status: 'done', note: 'does not verify' },
  };
}

/** Whether checkpoints leave the database, and how long records have waited for a published one. */
async function checkpointFindings(
  sources: ComplianceSources,
  at: string,
): Promise<{ findings: ComplianceFinding[]; check: ComplianceCheck }> {
  const config = sources.checkpoints;
  if (config === undefined)
    return {
      findings: [],
      check: {
        name: 'checkpoints',
        status: 'skipped',
        note: 'no configuration names the publication targets',
      },
    };
  if (config.targets.length === 0)
    return {
      findings: [
        {
          code: 'audit.checkpoints-unpublished',
          severity: 'high',
          subject: 'audit',
          message:
            'signed checkpoints are not published outside the database: a rewrite of the whole log by someone who can write to it goes unseen',
          evidence: ['reins.yaml: `audit.checkpoints.publish` names no directory, webhook or OTLP endpoint'],
          fix: "set `audit.checkpoints.publish.directory` (or `webhook`, `otlp`) in reins.yaml to a place the database's writers cannot change",
        },
      ],
      check: { name: 'checkpoints', status: 'done', note: 'none published' },
    };
  if (config.published === undefined)
    return {
      findings: [],
      check: {
        name: 'checkpoints',
        status: 'skipped',
        note: `published to ${config.targets.join(', ')}, which a scan cannot read back`,
      },
    };
  const lastSeq = Math.max(0, ...config.published.map((checkpoint) => checkpoint.seq));
  const [oldest] = await sources.audit.queryIndex({ afterSeq: lastSeq, limit: 1 });
  const waited = oldest === undefined ? 0 : sources.now - Date.parse(oldest.time);
  const note = `${config.published.length} published, the last at record ${lastSeq}`;
  if (oldest === undefined || waited <= sources.thresholds.checkpointMaxAgeMs)
    return { findings: [], check: { name: 'checkpoints', status: 'done', note } };
  return {
    findings: [
      {
        code: 'audit.checkpoint-stale',
        severity: 'medium',
        subject: 'audit',
        message: `records since ${oldest.time} (${Math.floor(waited / DAY_MS)} days before ${at}) are covered by no published checkpoint`,
        evidence: [`published: ${note}`, `first record after it: ${oldest.seq} at ${oldest.time}`],
        fix: 'lower `audit.checkpoints.every` so that a quiet gateway still signs (and publishes) checkpoints often enough, and check the publication target is being written',
      },
    ],
    check: { name: 'checkpoints', status: 'done', note },
  };
}

function keyFindings(keys: readonly SigningKeyAge[], now: number, maxAgeMs: number): ComplianceFinding[] {
  return keys.flatMap((key): ComplianceFinding[] => {
    if (key.createdAt === undefined)
      return [
        {
          code: 'key.age-unknown',
          severity: 'low',
          subject: `key:${key.purpose}`,
          message: `the age of the ${key.purpose} signing key cannot be told: ${key.source} records no time it was made`,
          evidence: [`${key.source}: no key file to date`],
          fix: `keep it in a key directory (\`reins keys rotate --purpose ${key.purpose}\` writes a dated one), or rotate it on a schedule of your own and suppress this finding`,
        },
      ];
    const age = now - key.createdAt.getTime();
    if (age <= maxAgeMs) return [];
    return [
      {
        code: 'key.old',
        severity: 'medium',
        subject: `key:${key.purpose}`,
        message: `the ${key.purpose} signing key is ${Math.floor(age / DAY_MS)} days old (rotate after ${Math.round(maxAgeMs / DAY_MS)})`,
        evidence: [`${key.source}: written ${key.createdAt.toISOString()}`],
        fix: `rotate it: \`reins keys rotate --purpose ${key.purpose}\` (what the old key signed still verifies)`,
      },
    ];
  });
}

function describeKeyAge(now: number): (key: SigningKeyAge) => string {
  return (key) =>
    key.createdAt === undefined
      ? `${key.purpose}: age unknown (${key.source})`
      : `${key.purpose}: ${Math.floor((now - key.createdAt.getTime()) / DAY_MS)} days`;
}

function byCodeAndSubject(left: ComplianceFinding, right: ComplianceFinding): number {
  return left.code.localeCompare(right.code) || left.subject.localeCompare(right.subject);
}
