/**
 * @module inspect/posture-criterion
 * What one criterion of the posture score is (issue 19): an id, its primitive, a title and a judgement
 * of one scope (the deployment or an agent) from the context every criterion shares, returning whether
 * the point is earned, the evidence, and the fix when it is not.
 */
import type { PreparedPolicy } from '../policy/prepared-policy.js';
import type { GatewayConfig } from '../spec/gateway-config.js';
import type { AgentRecordV1 } from '../spec/identity.js';
import type { AgentsReading, CallTally, LogReading, PosturePatch, Primitive } from './posture-model.js';
import type { EntryAt, PolicyFile, RuleAt } from './posture-reading.js';

/** Everything a criterion may judge, for one scope. */
export interface PostureContext {
  readonly policy: PreparedPolicy;
  readonly files: readonly PolicyFile[];
  readonly config: GatewayConfig;
  /** Every rule of the policy (for fresh ids), and the enforced ones that apply to the scope. */
  readonly allRules: readonly RuleAt[];
  readonly rules: readonly RuleAt[];
  readonly entries: readonly EntryAt[];
  /** The agent scored; undefined for the deployment. */
  readonly agent: AgentRecordV1 | undefined;
  readonly agents: AgentsReading;
  readonly log: LogReading;
  /** The scope's calls in the log, when there is a log. */
  readonly tally: CallTally | undefined;
}

/** A criterion's verdict before the score adds its point and computes its fix's gain. */
export interface Verdict {
  readonly met: boolean;
  readonly evidence: readonly string[];
  /** What to do when not met (required then). */
  readonly fix?: { readonly text: string; readonly patches: readonly PosturePatch[] };
}

export interface Criterion {
  readonly id: string;
  readonly primitive: Primitive;
  readonly title: string;
  judge(context: PostureContext): Verdict;
}

export const met = (...evidence: string[]): Verdict => ({ met: true, evidence });
export const missing = (
  evidence: readonly string[],
  text: string,
  patches: readonly PosturePatch[] = [],
): Verdict => ({
  met: false,
  evidence,
  fix: { text, patches },
});
