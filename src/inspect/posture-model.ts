/**
 * @module inspect/posture-model
 * The shapes of the posture score (issue 19): the five primitives, a criterion's result with its
 * evidence and fix, the concrete change a fix makes to the configuration (a patch of one file), and
 * the evidence read from the audit log. Types and constants only; posture-criteria decides, posture
 * composes, posture-log reads the log.
 */
import type { AgentRecordV1 } from '../spec/identity.js';

export const PRIMITIVES = ['execution', 'approval', 'provenance', 'logs', 'rollback'] as const;
export type Primitive = (typeof PRIMITIVES)[number];

export const PRIMITIVE_TITLES: Readonly<Record<Primitive, string>> = {
  execution: 'Constrained execution',
  approval: 'Approval gates',
  provenance: 'Provenance tracking',
  logs: 'Comprehensive logs',
  rollback: 'Rollback',
};

/** Each primitive is worth this much: five criteria of one point each. */
export const POINTS_PER_PRIMITIVE = 5;
export const MAX_SCORE = PRIMITIVES.length * POINTS_PER_PRIMITIVE;

/**
 * One change to one file, in the terms of the file as written: `append` adds `value` to the list at
 * `path` (creating it), `set` sets it (creating the maps on the way), `delete` removes the key. A
 * policy patch names the policy file it applies to; a gateway patch the deployment's reins.yaml.
 */
export type PosturePatch =
  | {
      readonly target: 'policy';
      readonly file: string;
      readonly op: 'append' | 'set' | 'delete';
      readonly path: readonly (string | number)[];
      readonly value?: unknown;
    }
  | {
      readonly target: 'gateway';
      readonly op: 'set';
      readonly path: readonly string[];
      readonly value: unknown;
    };

/** What to do to gain a missing point. */
export interface PostureFix {
  readonly text: string;
  /** The change to the configuration; empty when the point is earned by running the deployment. */
  readonly patches: readonly PosturePatch[];
  /**
   * Points the score gains once this fix is applied: for a patch, computed by scoring the patched
   * configuration; otherwise this criterion's point, once the log shows what the text asks for.
   */
  readonly gain: number;
}

export interface CriterionResult {
  /** Stable id, `<primitive>.<name>` (docs/posture.md lists them). */
  readonly id: string;
  readonly primitive: Primitive;
  readonly title: string;
  readonly points: 0 | 1;
  /** What was found (or what is missing), one fact a line. */
  readonly evidence: readonly string[];
  /** Present exactly when the point is missing. */
  readonly fix?: PostureFix;
}

export interface PrimitiveScore {
  readonly primitive: Primitive;
  readonly title: string;
  readonly points: number;
  readonly criteria: readonly CriterionResult[];
}

/** The score of one scope: the deployment, or one agent. */
export interface ScopeScore {
  readonly scope: { readonly kind: 'deployment' } | { readonly kind: 'agent'; readonly agentId: string };
  readonly score: number;
  readonly max: number;
  readonly primitives: readonly PrimitiveScore[];
}

export interface PostureReport {
  readonly generatedAt: string;
  /** The gateway configuration and policy files scored, and where the log evidence came from. */
  readonly sources: { readonly config: string; readonly policy: readonly string[]; readonly log: string };
  readonly deployment: ScopeScore;
  readonly agents: readonly ScopeScore[];
}

/** What the log shows about the calls of one scope. */
export interface CallTally {
  /** Call intents, compensations of a rollback not counted. */
  readonly intents: number;
  /** Intents that carry provenance links (spec/provenance). */
  readonly linked: number;
  /** Linked intents whose links are marked incomplete (the data flow could not be read whole). */
  readonly incomplete: number;
  /** Sessions with at least one intent. */
  readonly sessions: number;
  /** Of those, sessions in which the user's request was declared. */
  readonly sessionsWithRequest: number;
  /** Intents held for approval. */
  readonly held: number;
  /** Outcomes of held calls that a human decided (approved or refused, by someone named). */
  readonly heldDecided: number;
  /** Intents recorded as reversible, and of those how many carry the captured state. */
  readonly reversible: number;
  readonly reversibleCaptured: number;
  /** Intents whose declared compensation could not be relied on (`unavailable`). */
  readonly unavailable: number;
  /** Compensations run by a rollback (intents with `compensates`). */
  readonly compensations: number;
}

/** What was read from the deployment's audit log. */
export interface LogEvidence {
  /** The store, as `reins audit verify` names it. */
  readonly where: string;
  /** Records read (newest first), and whether older ones were left unread. */
  readonly scanned: { readonly records: number; readonly truncated: boolean };
  readonly chain: {
    readonly ok: boolean;
    readonly checked: number;
    readonly checkpointsVerified: number;
    readonly signaturesChecked: boolean;
    readonly problem?: string;
  };
  readonly checkpoints: number;
  /** `session.rollback` operator actions. */
  readonly rollbacks: number;
  readonly all: CallTally;
  readonly byAgent: Readonly<Record<string, CallTally>>;
}

/** The log, or why there is none to read: a missing log earns no log point and says so. */
export type LogReading =
  | { readonly available: true; readonly evidence: LogEvidence }
  | { readonly available: false; readonly why: string };

/** The registered agents, or why they could not be listed. */
export type AgentsReading =
  | { readonly available: true; readonly agents: readonly AgentRecordV1[] }
  | { readonly available: false; readonly why: string };
