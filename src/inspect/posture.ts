/**
 * @module inspect/posture
 * The posture score (issue 19): 0–25 over the five primitives of the product brief, for the deployment
 * and for each agent, every point justified by evidence from the configuration and the audit log
 * (posture-criteria, posture-log-criteria), every missing point with the change that earns it. A fix
 * that changes the configuration states what it gains by scoring the patched configuration, so the
 * gain printed is the gain obtained. Pure apart from compiling the policy: the caller reads the files,
 * the agents and the log (posture-log) and passes them in.
 */
import { isSeq, parseDocument } from 'yaml';
import { compilePolicy, type PolicySource } from '../policy/compile-policy.js';
import { formatProblem } from '../policy/policy-problem.js';
import type { PreparedPolicy } from '../policy/prepared-policy.js';
import { ReinsError } from '../spec/errors.js';
import type { GatewayConfig } from '../spec/gateway-config.js';
import type { AgentRecordV1 } from '../spec/identity.js';
import { CRITERIA } from './posture-criteria.js';
import type { PostureContext } from './posture-criterion.js';
import { EMPTY_TALLY } from './posture-log-criteria.js';
import {
  type AgentsReading,
  type CriterionResult,
  type LogReading,
  MAX_SCORE,
  type PostureFix,
  type PosturePatch,
  type PostureReport,
  PRIMITIVE_TITLES,
  PRIMITIVES,
  type ScopeScore,
} from './posture-model.js';
import { entriesOf, type PolicyFile, rulesOf, scopeRules } from './posture-reading.js';

export interface PostureInput {
  /** The gateway configuration file (shown in the report) and its content. */
  readonly configFile: string;
  readonly config: GatewayConfig;
  /** The policy files as written (the patches of fixes apply to their text). */
  readonly sources: readonly PolicySource[];
  readonly agents: AgentsReading;
  readonly log: LogReading;
  /** Score only this agent (and the deployment). */
  readonly agentId?: string;
  readonly now?: Date;
}

/** Scores the deployment and its agents. Throws `invalid_input` for a policy that does not compile. */
export function scorePosture(input: PostureInput): PostureReport {
  const agents = scoredAgents(input);
  const deployment = scoreScope(input, undefined, true);
  return {
    generatedAt: (input.now ?? new Date()).toISOString(),
    sources: {
      config: input.configFile,
      policy: input.sources.map((source) => source.file),
      log: input.log.available ? input.log.evidence.where : `none: ${input.log.why}`,
    },
    deployment,
    agents: agents.map((agent) => scoreScope(input, agent, true)),
  };
}

/** Every agent that can act (not retired), or the one asked for. */
function scoredAgents(input: PostureInput): AgentRecordV1[] {
  const all = input.agents.available ? input.agents.agents : [];
  if (input.agentId === undefined)
    return all.filter((agent) => agent.state !== 'retired').sort((a, b) => a.id.localeCompare(b.id));
  const agent = all.find((candidate) => candidate.id === input.agentId);
  if (agent !== undefined) return [agent];
  const why = input.agents.available ? 'it is not registered' : input.agents.why;
  throw new ReinsError('not_found', `no agent \`${input.agentId}\` to score: ${why}`);
}

function compiled(sources: readonly PolicySource[]): { policy: PreparedPolicy; files: PolicyFile[] } {
  const result = compilePolicy(sources);
  if (!result.ok)
    throw new ReinsError(
      'invalid_input',
      `the policy does not compile:\n${result.problems.map(formatProblem).join('\n')}`,
    );
  const files = result.documents.map((document, index) => ({ file: sources[index]?.file ?? '', document }));
  return { policy: result.policy, files };
}

function contextOf(input: PostureInput, agent: AgentRecordV1 | undefined): PostureContext {
  const { policy, files } = compiled(input.sources);
  const allRules = rulesOf(files);
  const tally = input.log.available
    ? agent === undefined
      ? input.log.evidence.all
      : (input.log.evidence.byAgent[agent.id] ?? EMPTY_TALLY)
    : undefined;
  return {
    policy,
    files,
    config: input.config,
    allRules,
    rules: scopeRules(allRules, agent),
    entries: entriesOf(files),
    agent,
    agents: input.agents,
    log: input.log,
    tally,
  };
}

function scoreScope(input: PostureInput, agent: AgentRecordV1 | undefined, withGains: boolean): ScopeScore {
  const context = contextOf(input, agent);
  const results: CriterionResult[] = CRITERIA.map((criterion) => {
    const verdict = criterion.judge(context);
    const base = {
      id: criterion.id,
      primitive: criterion.primitive,
      title: criterion.title,
      evidence: verdict.evidence,
    };
    if (verdict.met) return { ...base, points: 1 as const };
    if (verdict.fix === undefined)
      throw new Error(`criterion ${criterion.id} misses its point without a fix`);
    return { ...base, points: 0 as const, fix: { ...verdict.fix, gain: 1 } };
  });
  const total = results.reduce((sum, result) => sum + result.points, 0);
  const criteria = withGains ? results.map((result) => withGain(input, agent, result, total)) : results;
  return {
    scope: agent === undefined ? { kind: 'deployment' } : { kind: 'agent', agentId: agent.id },
    score: total,
    max: MAX_SCORE,
    primitives: PRIMITIVES.map((primitive) => {
      const own = criteria.filter((result) => result.primitive === primitive);
      return {
        primitive,
        title: PRIMITIVE_TITLES[primitive],
        points: own.reduce((sum, result) => sum + result.points, 0),
        criteria: own,
      };
    }),
  };
}

/** A patch fix's gain is what scoring the patched configuration gives; a log fix's is its own point. */
function withGain(
  input: PostureInput,
  agent: AgentRecordV1 | undefined,
  result: CriterionResult,
  total: number,
): CriterionResult {
  const fix = result.fix;
  if (fix === undefined || fix.patches.length === 0) return result;
  const patched = applyPatches(input, fix.patches);
  const gain = scoreScope(patched, agent, false).score - total;
  return { ...result, fix: { ...fix, gain } satisfies PostureFix };
}

/** The input with the patches applied to the policy texts and the configuration. */
export function applyPatches(input: PostureInput, patches: readonly PosturePatch[]): PostureInput {
  let config: GatewayConfig = input.config;
  let sources = input.sources;
  for (const patch of patches) {
    if (patch.target === 'gateway') {
      config = setIn(structuredClone(config), patch.path, patch.value) as GatewayConfig;
      continue;
    }
    sources = sources.map((source) =>
      source.file === patch.file ? { file: source.file, text: patchPolicyText(source.text, patch) } : source,
    );
  }
  return { ...input, config, sources };
}

/** One policy patch applied to a YAML text (comments and layout of the rest kept). */
export function patchPolicyText(text: string, patch: Extract<PosturePatch, { target: 'policy' }>): string {
  const document = parseDocument(text);
  const path = [...patch.path];
  if (patch.op === 'delete') document.deleteIn(path);
  else if (patch.op === 'set') document.setIn(path, document.createNode(patch.value));
  else {
    const list = document.getIn(path, true);
    if (isSeq(list)) list.add(document.createNode(patch.value));
    else if (list === undefined || list === null) document.setIn(path, document.createNode([patch.value]));
    else throw new ReinsError('invalid_input', `cannot append to \`${path.join('.')}\`: it is not a list`);
  }
  return document.toString();
}

function setIn(target: unknown, path: readonly string[], value: unknown): unknown {
  const [key, ...rest] = path;
  if (key === undefined) return value;
  const object = (target !== null && typeof target === 'object' ? target : {}) as Record<string, unknown>;
  object[key] = setIn(object[key], rest, value);
  return object;
}
