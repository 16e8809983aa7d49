/**
 * @module inspect/posture-criteria
 * The 25 criteria of the posture score (issue 19, docs/posture.md): five per primitive, one point
 * each, each a deterministic check of the configuration (policy documents, gateway configuration,
 * registered agents) or of what the audit log shows, with the evidence it found and, when the point
 * is missing, the change that earns it. Criteria judge; they never read files or the log themselves
 * (posture-log gathers the log's evidence, the caller the rest).
 */
import type { GatewayConfig } from '../spec/gateway-config.js';
import { type Criterion, met, missing, type PostureContext } from './posture-criterion.js';
import { LOG_CRITERIA } from './posture-log-criteria.js';
import type { PosturePatch } from './posture-model.js';
import {
  CHANGE_EFFECTS,
  type EntryAt,
  entryName,
  freshId,
  gateOf,
  hasEffect,
  IMPACT_EFFECTS,
  type RuleAt,
  reachable,
  reversalKind,
  slug,
} from './posture-reading.js';

/** The file new rules and sections go to: the last policy file, so they come after what is there. */
function lastFile(context: PostureContext): string {
  const last = context.files.at(-1);
  if (last === undefined) throw new Error('a policy has at least one document');
  return last.file;
}

function reachableEntries(context: PostureContext): EntryAt[] {
  return context.entries.filter((at) => reachable(context, at));
}

function where(at: { file: string; index: number }, section: string): string {
  return `${section}[${at.index}] of ${at.file}`;
}

function list(items: readonly string[]): string {
  return items.map((item) => `\`${item}\``).join(', ');
}

// ---------- constrained execution ----------

const enforced: Criterion = {
  id: 'execution.enforced',
  primitive: 'execution',
  title: 'The policy is enforced, not only shadowed',
  judge(context) {
    const shadowDocuments = context.files.filter(({ document }) => document.mode === 'shadow');
    const shadowRules = context.allRules.filter(
      (rule) => !shadowDocuments.some(({ file }) => file === rule.file) && !rule.enforced,
    );
    if (shadowDocuments.length === 0 && shadowRules.length === 0)
      return met(
        `${context.files.length} policy document(s) and ${context.allRules.length} rule(s), all enforced`,
      );
    const evidence = [
      ...shadowDocuments.map(
        ({ file }) => `${file} is \`mode: shadow\`: its rules are recorded, never enforced`,
      ),
      ...shadowRules.map((rule) => `rule \`${rule.id}\` (${where(rule, rule.section)}) is \`mode: shadow\``),
    ];
    return missing(
      evidence,
      'once `reins policy diff` shows what they would change, enforce them: remove `mode: shadow`',
      [
        ...shadowDocuments.map(({ file }) => ({
          target: 'policy' as const,
          file,
          op: 'delete' as const,
          path: ['mode'],
        })),
        ...shadowRules.map((rule) => ({
          target: 'policy' as const,
          file: rule.file,
          op: 'delete' as const,
          path: [rule.section, rule.index, 'mode'],
        })),
      ],
    );
  },
};

/** An allow rule that matches every tool, always: default deny no longer says anything. */
function allowsEverything(rule: RuleAt): boolean {
  if (rule.section !== 'rules' || rule.effect !== 'allow' || rule.conditional) return false;
  const tool = rule.tool;
  if (tool === undefined) return true;
  const all = (patterns: readonly string[] | undefined) =>
    patterns === undefined || patterns.every((p) => p === '*');
  return all(tool.server) && all(tool.name) && tool.risk === undefined && tool.effects === undefined;
}

const defaultDeny: Criterion = {
  id: 'execution.default-deny',
  primitive: 'execution',
  title: 'Deny by default: no rule allows every tool unconditionally',
  judge(context) {
    const broad = context.rules.filter(allowsEverything);
    const allows = context.rules.filter((rule) => rule.section === 'rules' && rule.effect === 'allow');
    if (broad.length === 0)
      return met(
        `${allows.length} allow rule(s), each limited by a tool matcher or a condition; everything else is denied (\`reins.default-deny\`)`,
      );
    return missing(
      broad.map(
        (rule) => `rule \`${rule.id}\` (${where(rule, 'rules')}) allows every tool with no condition`,
      ),
      `narrow ${list(broad.map((rule) => rule.id))} to the tools the mission needs; the patch limits each to tools that only read`,
      broad.map((rule) => ({
        target: 'policy' as const,
        file: rule.file,
        op: 'set' as const,
        path: ['rules', rule.index, 'tool'],
        value: { effects: ['read'] },
      })),
    );
  },
};

const catalogued: Criterion = {
  id: 'execution.catalogue',
  primitive: 'execution',
  title: 'Every upstream is in the catalogue, down to a catch-all entry',
  judge(context) {
    const upstreams = context.config.upstreams.map((upstream) => upstream.name);
    if (upstreams.length === 0)
      return met(
        'the gateway fronts no upstream: every tool comes through the catalogue of the remote protocol',
      );
    const hasCatchAll = (server: string) =>
      context.entries.some(
        ({ entry }) => entry.name === '*' && (entry.server === server || entry.server === '*'),
      );
    const uncovered = upstreams.filter((server) => !hasCatchAll(server));
    if (uncovered.length === 0)
      return met(
        `upstreams ${list(upstreams)}: each has a catch-all catalogue entry, so no tool of theirs is undeclared (unknown risk and effects)`,
      );
    return missing(
      uncovered.map(
        (server) =>
          `upstream \`${server}\` has no catch-all entry: a tool it adds later has no risk or effects`,
      ),
      `declare the rest of each upstream's tools as high-risk writes after its specific entries (${list(uncovered.map((s) => `${s}/*`))})`,
      uncovered.map((server) => ({
        target: 'policy' as const,
        file: lastFile(context),
        op: 'append' as const,
        path: ['tools'],
        value: { server, name: '*', risk: 'high', effects: ['write'] },
      })),
    );
  },
};

const bounded: Criterion = {
  id: 'execution.bounded',
  primitive: 'execution',
  title: 'Limits or sequence rules bound how much and in which order',
  judge(context) {
    const bounds = context.rules.filter((rule) => rule.section === 'limits' || rule.section === 'sequences');
    if (bounds.length > 0)
      return met(`${bounds.length} limit/sequence rule(s) apply: ${list(bounds.map((rule) => rule.id))}`);
    return missing(
      ['no `limits` or `sequences` rule applies: a runaway loop can call allowed tools without bound'],
      'add a call budget per agent (`limits:`), e.g. at most 600 calls an hour',
      [
        {
          target: 'policy',
          file: lastFile(context),
          op: 'append',
          path: ['limits'],
          value: {
            id: freshId(context.allRules, 'posture-call-budget'),
            reason: 'at most 600 tool calls per agent and hour',
            per: ['agent'],
            window: '1h',
            max: 600,
          },
        },
      ],
    );
  },
};

const leastAgency: Criterion = {
  id: 'execution.least-agency',
  primitive: 'execution',
  title: 'Agents hold narrowed mission scopes, never `*`',
  judge(context) {
    if (!context.agents.available)
      return missing([`agents could not be read: ${context.agents.why}`], NARROW_SCOPES);
    const agents = context.agent
      ? [context.agent]
      : context.agents.agents.filter((agent) => agent.state === 'active');
    if (agents.length === 0) return missing(['no active agent is registered'], NARROW_SCOPES);
    const broad = agents.filter((agent) => agent.scopes.includes('*'));
    const evidence = agents.map(
      (agent) => `\`${agent.id}\`: scopes ${agent.scopes.length === 0 ? '(none)' : list(agent.scopes)}`,
    );
    if (broad.length === 0) return met(...evidence);
    return missing(
      evidence,
      `replace ${list(broad.map((agent) => agent.id))} with agents whose scopes name the tools they need (\`reins agents create <id> --scopes fs/read_file,memory/*\`) and retire the old ones (\`reins agents retire\`)`,
    );
  },
};

const NARROW_SCOPES =
  'register each agent with the tools its mission needs: `reins agents create <id> --owner <you> --scopes fs/read_file,memory/*`';

// ---------- approval gates ----------

function approveRule(
  context: PostureContext,
  at: EntryAt,
  tool: Record<string, unknown>,
  why: string,
): PosturePatch {
  return {
    target: 'policy',
    file: lastFile(context),
    op: 'append',
    path: ['rules'],
    value: {
      id: freshId(context.allRules, `posture-approve-${slug(entryName(at.entry))}`),
      effect: 'approve',
      tool: { server: at.entry.server, name: at.entry.name, ...tool },
      reason: `a human approves ${entryName(at.entry)} (${why})`,
    },
  };
}

const highImpactGated: Criterion = {
  id: 'approval.high-impact',
  primitive: 'approval',
  title: 'High-impact tools (irreversible, external, high or critical risk) wait for a human',
  judge(context) {
    const impact = reachableEntries(context).filter(
      ({ entry }) => hasEffect(entry, IMPACT_EFFECTS) || entry.risk === 'high' || entry.risk === 'critical',
    );
    const ungated = impact.filter((at) => gateOf(context, at) === undefined);
    if (ungated.length === 0)
      return met(
        impact.length === 0
          ? 'no reachable catalogue entry is irreversible, external, high or critical risk'
          : `${impact.length} high-impact entr(ies), each held by an approve rule: ${impact
              .map((at) => `\`${entryName(at.entry)}\` by \`${gateOf(context, at)?.id}\``)
              .join(', ')}`,
      );
    return missing(
      ungated.map(
        ({ entry }) =>
          `\`${entryName(entry)}\` (${entry.risk}, ${entry.effects.join('/')}) is allowed with no approve rule`,
      ),
      `hold ${list(ungated.map(({ entry }) => entryName(entry)))} for a human with an \`effect: approve\` rule`,
      ungated.map((at) =>
        hasEffect(at.entry, IMPACT_EFFECTS)
          ? approveRule(
              context,
              at,
              { effects: at.entry.effects.filter((e) => (IMPACT_EFFECTS as readonly string[]).includes(e)) },
              'acts irreversibly or outside',
            )
          : approveRule(context, at, { risk: [at.entry.risk] }, `${at.entry.risk} risk`),
      ),
    );
  },
};

const noUndoGated: Criterion = {
  id: 'approval.no-undo-gated',
  primitive: 'approval',
  title: 'Changes Reins cannot undo wait for a human',
  judge(context) {
    const changes = reachableEntries(context).filter(({ entry }) => hasEffect(entry, CHANGE_EFFECTS));
    const undoable = changes.filter(({ entry }) => reversalKind(context.policy, entry) !== 'reversible');
    const ungated = undoable.filter((at) => gateOf(context, at) === undefined);
    if (ungated.length === 0)
      return met(
        `${changes.length} reachable entr(ies) change something; ${changes.length - undoable.length} reversible, ${undoable.length} not reversible and held by an approve rule`,
      );
    return missing(
      ungated.map(
        ({ entry }) =>
          `\`${entryName(entry)}\` changes state, its reversal is \`${reversalKind(context.policy, entry)}\`, and no approve rule holds it`,
      ),
      `declare a compensation for ${list(ungated.map(({ entry }) => entryName(entry)))} (\`reversal:\` or a \`rollback.profiles\` profile), or hold its changes for a human; the patch holds them`,
      ungated.map((at) =>
        approveRule(
          context,
          at,
          { effects: at.entry.effects.filter((e) => (CHANGE_EFFECTS as readonly string[]).includes(e)) },
          'cannot be undone',
        ),
      ),
    );
  },
};

const separationOfDuties: Criterion = {
  id: 'approval.separation-of-duties',
  primitive: 'approval',
  title: "An agent's owner cannot approve its calls alone",
  judge(context) {
    const holding = context.rules.filter((rule) => rule.effect === 'approve');
    const ownerAlone = holding.filter((rule) => rule.ownerMayApprove);
    if (ownerAlone.length === 0)
      return met(
        holding.length === 0
          ? 'no rule holds calls for approval'
          : `${holding.length} approve rule(s); none sets \`approval.ownerMayApprove\``,
      );
    return missing(
      ownerAlone.map(
        (rule) =>
          `rule \`${rule.id}\` (${where(rule, rule.section)}) sets \`approval.ownerMayApprove: true\``,
      ),
      `remove \`ownerMayApprove\` from ${list(ownerAlone.map((rule) => rule.id))} so that someone besides the owner approves`,
      ownerAlone.map((rule) => ({
        target: 'policy' as const,
        file: rule.file,
        op: 'delete' as const,
        path: [rule.section, rule.index, 'approval', 'ownerMayApprove'],
      })),
    );
  },
};

/** A placeholder the operator replaces with the approvers' own endpoint. */
export const APPROVAL_WEBHOOK_PLACEHOLDER = 'https://approvals.example.com/reins';

const notified: Criterion = {
  id: 'approval.notified',
  primitive: 'approval',
  title: 'Approvers are told of a held call (approval webhook)',
  judge(context) {
    const webhook = context.config.approvals.webhook;
    if (webhook !== undefined)
      return met(`\`approvals.webhook\` posts each new request to ${new URL(webhook).origin}`);
    return missing(
      ['`approvals.webhook` is not set: a held call waits until someone happens to open the console'],
      `set \`approvals.webhook\` in the gateway configuration to your approvers' chat or paging endpoint (the patch uses ${APPROVAL_WEBHOOK_PLACEHOLDER})`,
      [{ target: 'gateway', op: 'set', path: ['approvals', 'webhook'], value: APPROVAL_WEBHOOK_PLACEHOLDER }],
    );
  },
};

// ---------- provenance ----------

const untrustedDeclared: Criterion = {
  id: 'provenance.untrusted-declared',
  primitive: 'provenance',
  title: 'The catalogue says which tools return content others control',
  judge(context) {
    const declared = context.entries.filter(
      ({ entry }) => entry.untrustedOutput || (entry.output?.untrustedFields.length ?? 0) > 0,
    );
    if (declared.length > 0)
      return met(`untrusted output declared on ${list(declared.map(({ entry }) => entryName(entry)))}`);
    const reads = reachableEntries(context).filter(({ entry }) => entry.effects.includes('read'));
    const targets =
      reads.length > 0 ? reads : context.entries.filter(({ entry }) => entry.effects.includes('read'));
    return missing(
      [
        'no catalogue entry sets `untrustedOutput` or `output.untrustedFields`: every output counts as trusted',
      ],
      `mark the tools that return files, pages, mail or notes others wrote as \`untrustedOutput: true\` (${list(targets.map(({ entry }) => entryName(entry)))})`,
      targets.map((at) => ({
        target: 'policy' as const,
        file: at.file,
        op: 'set' as const,
        path: ['tools', at.index, 'untrustedOutput'],
        value: true,
      })),
    );
  },
};

const sinksDeclared: Criterion = {
  id: 'provenance.sinks-declared',
  primitive: 'provenance',
  title: 'Tools that act outside name the arguments that carry data out (`sink`)',
  judge(context) {
    const outward = reachableEntries(context).filter(({ entry }) => hasEffect(entry, IMPACT_EFFECTS));
    const undeclared = outward.filter(({ entry }) => entry.sink === undefined);
    if (undeclared.length === 0)
      return met(
        outward.length === 0
          ? 'no reachable catalogue entry acts outside (external or irreversible)'
          : `sinks declared on ${list(outward.map(({ entry }) => entryName(entry)))}`,
      );
    return missing(
      undeclared.map(
        ({ entry, file, index }) => `\`${entryName(entry)}\` (tools[${index}] of ${file}) has no \`sink\``,
      ),
      `declare on each the arguments that address the outside and those that carry text: \`sink: { args: [<recipient, url>], text: [<body>] }\` (${list(undeclared.map(({ entry }) => entryName(entry)))})`,
    );
  },
};

const flowsGuard: Criterion = {
  id: 'provenance.flows',
  primitive: 'provenance',
  title: 'A `flows` rule keeps untrusted values from driving changes and sends',
  judge(context) {
    const flows = context.rules.filter((rule) => rule.section === 'flows');
    if (flows.length > 0)
      return met(`${flows.length} flows rule(s) apply: ${list(flows.map((rule) => rule.id))}`);
    return missing(
      ['no `flows` rule applies: a value read from untrusted content can drive a write or a send unchecked'],
      'add a provenance `flows` rule over the tools that change or send, holding a call whose arguments came from untrusted content',
      [
        {
          target: 'policy',
          file: lastFile(context),
          op: 'append',
          path: ['flows'],
          value: {
            id: freshId(context.allRules, 'posture-untrusted-values'),
            reason: 'a value from untrusted content drives a change or a send: a human looks first',
            tool: { effects: [...CHANGE_EFFECTS] },
            check: 'provenance',
          },
        },
      ],
    );
  },
};

// ---------- comprehensive logs (configuration) ----------

const published: Criterion = {
  id: 'logs.checkpoints-published',
  primitive: 'logs',
  title: 'Signed checkpoints are published outside the database',
  judge(context) {
    const publish = context.config.audit.checkpoints.publish;
    const targets = (['directory', 'webhook', 'otlp'] as const).filter((key) => publish[key] !== undefined);
    if (targets.length > 0)
      return met(
        `\`audit.checkpoints.publish\`: ${targets.join(', ')}; a rewrite or cut tail is caught against them`,
      );
    const directory = checkpointDirectory(context.config);
    return missing(
      ['`audit.checkpoints.publish` names no target: a rewritten log can only be checked against itself'],
      `publish checkpoints where the database's writers cannot rewrite them (a directory on other storage, a webhook, OTLP); the patch uses the directory \`${directory}\``,
      [
        {
          target: 'gateway',
          op: 'set',
          path: ['audit', 'checkpoints', 'publish', 'directory'],
          value: directory,
        },
      ],
    );
  },
};

/** `checkpoints` beside the embedded store (its state directory). */
function checkpointDirectory(config: GatewayConfig): string {
  const store = config.store.sqlite;
  const slash = store.lastIndexOf('/');
  return slash === -1 ? 'checkpoints' : `${store.slice(0, slash)}/checkpoints`;
}

const redacted: Criterion = {
  id: 'logs.redaction',
  primitive: 'logs',
  title: 'Secrets are redacted before they reach the agent or the log',
  judge(context) {
    const sections = context.files.filter(({ document }) => document.redaction !== undefined);
    if (sections.length === 0)
      return missing(
        ['no `redaction:` section: tool results and arguments are recorded and shown as they are'],
        'add `redaction: { outputs: { secret: redact }, inputs: { secret: block } }`',
        [
          {
            target: 'policy',
            file: lastFile(context),
            op: 'set',
            path: ['redaction'],
            value: { outputs: { secret: 'redact' }, inputs: { secret: 'block' } },
          },
        ],
      );
    const allowed: { file: string; path: (string | number)[]; value: string }[] = [];
    for (const { file, document } of sections) {
      const redaction = document.redaction;
      if (redaction === undefined) continue;
      if (redaction.outputs.secret === 'allow')
        allowed.push({ file, path: ['redaction', 'outputs', 'secret'], value: 'redact' });
      if (redaction.inputs.secret === 'allow')
        allowed.push({ file, path: ['redaction', 'inputs', 'secret'], value: 'block' });
      for (const [index, tool] of redaction.tools.entries()) {
        if (tool.outputs?.secret === 'allow')
          allowed.push({ file, path: ['redaction', 'tools', index, 'outputs', 'secret'], value: 'redact' });
        if (tool.inputs?.secret === 'allow')
          allowed.push({ file, path: ['redaction', 'tools', index, 'inputs', 'secret'], value: 'block' });
      }
    }
    if (allowed.length === 0)
      return met(
        `\`redaction:\` in ${list(sections.map(({ file }) => file))}; secrets are never allowed through`,
      );
    return missing(
      allowed.map(({ file, path }) => `\`${path.join('.')}: allow\` in ${file} lets secrets through`),
      'redact secrets in outputs and block them in inputs',
      allowed.map(({ file, path, value }) => ({
        target: 'policy' as const,
        file,
        op: 'set' as const,
        path,
        value,
      })),
    );
  },
};

const durable: Criterion = {
  id: 'logs.durable',
  primitive: 'logs',
  title: 'Audit records are durable before anything acts on them',
  judge(context) {
    const store = context.config.store;
    if (store.databaseUrl !== undefined)
      return met('shared PostgreSQL store: each commit is durable when it returns');
    if (store.durability === 'full')
      return met("embedded store with `durability: full`: every commit is fsync'd");
    if (store.durability === 'causal')
      return met(
        "embedded store with `durability: causal`: intents are fsync'd before the tool runs, outcomes before the session's next decision (decision 0028)",
      );
    return missing(
      ['`store.durability: process`: records of the last moments before a power cut can be lost'],
      'set `store.durability: causal` (the default; decision 0028)',
      [{ target: 'gateway', op: 'set', path: ['store', 'durability'], value: 'causal' }],
    );
  },
};

// ---------- rollback (configuration) ----------

/** The built-in profile an upstream's command shows it runs, by the package it starts. */
function profileOfUpstream(
  upstream: GatewayConfig['upstreams'][number],
): 'server-filesystem' | 'server-memory' | undefined {
  if (!('stdio' in upstream)) return undefined;
  const command = [upstream.stdio.command, ...upstream.stdio.args].join(' ');
  if (command.includes('server-filesystem')) return 'server-filesystem';
  if (command.includes('server-memory')) return 'server-memory';
  return undefined;
}

const profilesApplied: Criterion = {
  id: 'rollback.profiles',
  primitive: 'rollback',
  title: 'Upstreams Reins ships a reversal profile for have it applied',
  judge(context) {
    const applied = context.files.flatMap(({ document }) => document.rollback?.profiles ?? []);
    const known = context.config.upstreams.flatMap((upstream) => {
      const profile = profileOfUpstream(upstream);
      return profile === undefined ? [] : [{ server: upstream.name, profile }];
    });
    if (known.length === 0) return met('no upstream runs a server Reins ships a reversal profile for');
    const lacking = known.filter(
      ({ server, profile }) =>
        !applied.some((p) => p.profile === profile && (p.server === server || p.server === '*')),
    );
    if (lacking.length === 0)
      return met(
        ...known.map(({ server, profile }) => `upstream \`${server}\` runs under the \`${profile}\` profile`),
      );
    return missing(
      lacking.map(
        ({ server, profile }) =>
          `upstream \`${server}\` runs ${profile} but \`rollback.profiles\` does not apply it`,
      ),
      `apply the built-in profiles: ${lacking.map(({ server, profile }) => `\`{ profile: ${profile}, server: ${server} }\``).join(', ')}`,
      lacking.map(({ server, profile }) => ({
        target: 'policy' as const,
        file: rollbackFile(context),
        op: 'append' as const,
        path: ['rollback', 'profiles'],
        value: { profile, server },
      })),
    );
  },
};

/** The file whose `rollback:` section changes (only one document may have it), else the last. */
function rollbackFile(context: PostureContext): string {
  return context.files.find(({ document }) => document.rollback !== undefined)?.file ?? lastFile(context);
}

const writesDeclared: Criterion = {
  id: 'rollback.writes-declared',
  primitive: 'rollback',
  title: 'Every reachable change says how it is undone, or that it cannot be',
  judge(context) {
    const changes = reachableEntries(context).filter(({ entry }) => hasEffect(entry, CHANGE_EFFECTS));
    const undeclared = changes.filter(({ entry }) => reversalKind(context.policy, entry) === 'undeclared');
    if (undeclared.length === 0)
      return met(
        changes.length === 0
          ? 'no reachable catalogue entry changes anything'
          : changes
              .map(({ entry }) => `\`${entryName(entry)}\`: ${reversalKind(context.policy, entry)}`)
              .join('; '),
      );
    return missing(
      undeclared.map(
        ({ entry, file, index }) =>
          `\`${entryName(entry)}\` (tools[${index}] of ${file}): no reversal declared`,
      ),
      `give each a \`reversal:\` (a compensation with \`capture\`/\`compensate\`, or \`irreversible: <why>\` when nothing can undo it, which \`approval.no-undo-gated\` then holds for a human); the patch declares ${list(undeclared.map(({ entry }) => entryName(entry)))} irreversible`,
      undeclared.map((at) => ({
        target: 'policy' as const,
        file: at.file,
        op: 'set' as const,
        path: ['tools', at.index, 'reversal'],
        value: { irreversible: `no compensation is declared for ${entryName(at.entry)}` },
      })),
    );
  },
};

const operators: Criterion = {
  id: 'rollback.operators',
  primitive: 'rollback',
  title: 'Someone besides an admin may roll a session back',
  judge(context) {
    const roles = context.policy.rollbackOperators.filter((role) => role !== 'admin');
    if (roles.length > 0) return met(`\`rollback.operators\`: ${list(roles)} (and \`admin\`)`);
    return missing(
      ['`rollback.operators` names no role: only an admin can undo a session during an incident'],
      "name the responders' role in `rollback.operators` (the patch names `operator`)",
      [
        {
          target: 'policy',
          file: rollbackFile(context),
          op: 'set',
          path: ['rollback', 'operators'],
          value: ['operator'],
        },
      ],
    );
  },
};

/** The 25 criteria, in report order: five per primitive. */
export const CRITERIA: readonly Criterion[] = [
  enforced,
  defaultDeny,
  catalogued,
  bounded,
  leastAgency,
  highImpactGated,
  noUndoGated,
  separationOfDuties,
  notified,
  LOG_CRITERIA.approvalExercised,
  untrustedDeclared,
  sinksDeclared,
  flowsGuard,
  LOG_CRITERIA.linksRecorded,
  LOG_CRITERIA.requestsDeclared,
  LOG_CRITERIA.chainVerifies,
  LOG_CRITERIA.checkpointsSigned,
  published,
  redacted,
  durable,
  profilesApplied,
  writesDeclared,
  operators,
  LOG_CRITERIA.captured,
  LOG_CRITERIA.rehearsed,
];
