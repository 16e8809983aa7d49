/**
 * @module inspect/posture-log
 * What the posture score reads from the audit log (issue 19): the chain verified against the
 * deployment's checkpoint key and its published checkpoints, the checkpoints, and per agent the calls'
 * provenance links, declared requests, held calls a human decided, reversible calls and their
 * captures, compensations and rollbacks. Reads newest first, at most POSTURE_SCAN_LIMIT records, and says when it stopped short;
 * never appends.
 */

import type { AuditCheckpointV1 } from '../spec/audit-checkpoint.js';
import type { CallIntentEvent, CallOutcomeEvent } from '../spec/audit-event.js';
import { isRollbackSession } from '../spec/reversal.js';
import type { AuditLog, AuditVerifyOptions } from '../store/audit-log.js';
import { MAX_QUERY_LIMIT } from '../store/audit-log.js';
import type { CallTally, LogEvidence } from './posture-model.js';

/** Records read for the call evidence; the chain itself is always verified whole. */
export const POSTURE_SCAN_LIMIT = 200_000;

export interface PostureLogOptions {
  /** The store, as the report names it. */
  readonly where: string;
  /** The deployment's checkpoint public key(s); without one, signatures are not checked (and earn nothing). */
  readonly publicKey?: AuditVerifyOptions['publicKey'];
  readonly checkpointEvery?: number;
  /**
   * Checkpoints published outside the database (`audit.checkpoints.publish`): the chain is compared
   * with them and must reach them, so a cut tail or a rewrite shows, as in `reins audit verify`.
   */
  readonly published?: readonly AuditCheckpointV1[];
  readonly scanLimit?: number;
}

/** A tally under construction. */
class Counting {
  intents = 0;
  linked = 0;
  incomplete = 0;
  held = 0;
  heldDecided = 0;
  reversible = 0;
  reversibleCaptured = 0;
  unavailable = 0;
  compensations = 0;
  readonly sessions = new Set<string>();
  readonly sessionsWithRequest = new Set<string>();

  intent(event: CallIntentEvent): void {
    if (event.compensates !== undefined || isRollbackSession(event.sessionId)) {
      this.compensations++;
      return;
    }
    this.intents++;
    this.sessions.add(event.sessionId);
    const provenance = event.provenance;
    if (provenance !== undefined) {
      this.linked++;
      if (provenance.incomplete) this.incomplete++;
      if (provenance.request !== undefined || provenance.sources.some((source) => source.trust === 'user'))
        this.sessionsWithRequest.add(event.sessionId);
    }
    if (event.decision.effect === 'approve') this.held++;
    if (event.reversal?.kind === 'reversible') {
      this.reversible++;
      if ((event.reversal.captures?.length ?? 0) > 0) this.reversibleCaptured++;
    }
    if (event.reversal?.kind === 'unavailable') this.unavailable++;
  }

  outcome(event: CallOutcomeEvent): void {
    if (event.approval?.by !== undefined) this.heldDecided++;
  }

  tally(): CallTally {
    return {
      intents: this.intents,
      linked: this.linked,
      incomplete: this.incomplete,
      sessions: this.sessions.size,
      sessionsWithRequest: this.sessionsWithRequest.size,
      held: this.held,
      heldDecided: this.heldDecided,
      reversible: this.reversible,
      reversibleCaptured: this.reversibleCaptured,
      unavailable: this.unavailable,
      compensations: this.compensations,
    };
  }
}

export async function readPostureLog(log: AuditLog, options: PostureLogOptions): Promise<LogEvidence> {
  const report = await log.verify({
    ...(options.publicKey !== undefined ? { publicKey: options.publicKey } : {}),
    ...(options.checkpointEvery !== undefined ? { checkpointEvery: options.checkpointEvery } : {}),
    ...(options.published !== undefined ? { extraCheckpoints: options.published } : {}),
  });
  const checkpoints = await log.checkpoints();
  const all = new Counting();
  const byAgent = new Map<string, Counting>();
  const countingOf = (agentId: string) => {
    const found = byAgent.get(agentId) ?? new Counting();
    byAgent.set(agentId, found);
    return found;
  };
  const limit = options.scanLimit ?? POSTURE_SCAN_LIMIT;
  let records = 0;
  let rollbacks = 0;
  let beforeSeq: number | undefined;
  let truncated = false;
  for (;;) {
    const page = await log.query({
      order: 'desc',
      limit: Math.min(MAX_QUERY_LIMIT, limit - records),
      ...(beforeSeq !== undefined ? { beforeSeq } : {}),
    });
    for (const { event } of page) {
      if (event.kind === 'call-intent') {
        all.intent(event);
        countingOf(event.principal.agentId).intent(event);
      } else if (event.kind === 'call-outcome') {
        all.outcome(event);
        countingOf(event.principal.agentId).outcome(event);
      } else if (event.kind === 'operator-action' && event.action === 'session.rollback') rollbacks++;
    }
    records += page.length;
    const last = page.at(-1);
    if (last === undefined || last.seq <= 1) break;
    if (records >= limit) {
      truncated = true;
      break;
    }
    beforeSeq = last.seq;
  }
  return {
    where: options.where,
    scanned: { records, truncated },
    chain: {
      ok: report.ok,
      checked: report.checked,
      checkpointsVerified: report.checkpointsVerified,
      signaturesChecked: report.signaturesChecked,
      ...(report.firstBad
        ? { problem: `record ${report.firstBad.seq}: ${report.firstBad.problem}: ${report.firstBad.message}` }
        : {}),
    },
    checkpoints: checkpoints.length,
    rollbacks,
    all: all.tally(),
    byAgent: Object.fromEntries([...byAgent].map(([agentId, counting]) => [agentId, counting.tally()])),
  };
}
