/**
 * @module inspect/posture-log-criteria
 * The criteria of the posture score that only the audit log can earn (issue 19): approvals actually
 * decided, provenance links and declared requests on the calls, the chain and its signed checkpoints
 * verifying, reversible calls recorded with their state, a rollback rehearsed. Each reads the evidence
 * posture-log gathered; without a log (a deployment that never ran, a store that cannot be opened) no
 * point is earned and the evidence says why. Their fixes are things to do with the deployment, not
 * patches: the point comes once the log shows them.
 */
import { type Criterion, met, missing, type PostureContext, type Verdict } from './posture-criterion.js';
import type { CallTally, LogEvidence } from './posture-model.js';

/** Judges from the log, or refuses the point with why there is no log. */
function fromLog(
  context: PostureContext,
  fixText: string,
  judge: (evidence: LogEvidence, tally: CallTally) => Verdict,
): Verdict {
  if (!context.log.available) return missing([`no audit log to read: ${context.log.why}`], fixText);
  const tally = context.tally ?? EMPTY_TALLY;
  return judge(context.log.evidence, tally);
}

export const EMPTY_TALLY: CallTally = {
  intents: 0,
  linked: 0,
  incomplete: 0,
  sessions: 0,
  sessionsWithRequest: 0,
  held: 0,
  heldDecided: 0,
  reversible: 0,
  reversibleCaptured: 0,
  unavailable: 0,
  compensations: 0,
};

function scanned(evidence: LogEvidence): string {
  const { records, truncated } = evidence.scanned;
  return truncated
    ? `in the newest ${records} records of ${evidence.where}`
    : `in ${records} records of ${evidence.where}`;
}

const EXERCISE_APPROVALS =
  'exercise the gate: let an agent make a held call and decide it in the console (Approvals) or with `reins approvals approve|deny`';

const approvalExercised: Criterion = {
  id: 'approval.exercised',
  primitive: 'approval',
  title: 'Held calls were decided by a named human',
  judge: (context) =>
    fromLog(context, EXERCISE_APPROVALS, (evidence, tally) =>
      tally.heldDecided > 0
        ? met(
            `${tally.heldDecided} of ${tally.held} held call(s) decided by a named human ${scanned(evidence)}`,
          )
        : missing(
            [`${tally.held} held call(s), none decided by a named human, ${scanned(evidence)}`],
            EXERCISE_APPROVALS,
          ),
    ),
};

const LINKS =
  'route every call through `Harness.decide` (the gateway, the remote protocol and the adapters do): intents then carry `provenance` links; a dry run records none';

const linksRecorded: Criterion = {
  id: 'provenance.links-recorded',
  primitive: 'provenance',
  title: 'Every recorded call carries complete provenance links',
  judge: (context) =>
    fromLog(context, LINKS, (evidence, tally) => {
      const facts = `${tally.linked} of ${tally.intents} call intent(s) carry provenance links, ${tally.incomplete} marked incomplete, ${scanned(evidence)}`;
      if (tally.intents > 0 && tally.linked === tally.intents && tally.incomplete === 0) return met(facts);
      return missing([tally.intents === 0 ? `no call recorded ${scanned(evidence)}` : facts], LINKS);
    }),
};

const DECLARE_REQUESTS =
  "declare the user's request with the calls: the MCP `_meta` key `reins.dev/user-request` (or `reins.dev/session-request` once per session), or the adapters' and remote protocol's `userRequest`";

const requestsDeclared: Criterion = {
  id: 'provenance.requests-declared',
  primitive: 'provenance',
  title: "Every session declared the user's request",
  judge: (context) =>
    fromLog(context, DECLARE_REQUESTS, (evidence, tally) => {
      const facts = `${tally.sessionsWithRequest} of ${tally.sessions} session(s) declared the user's request, ${scanned(evidence)}`;
      if (tally.sessions > 0 && tally.sessionsWithRequest === tally.sessions) return met(facts);
      return missing([facts], DECLARE_REQUESTS);
    }),
};

const VERIFY = 'run `reins audit verify` and restore or investigate from the first bad record it names';

const chainVerifies: Criterion = {
  id: 'logs.chain-verifies',
  primitive: 'logs',
  title: 'The audit chain verifies',
  judge: (context) =>
    fromLog(context, VERIFY, (evidence) => {
      const { chain } = evidence;
      if (chain.ok && chain.checked > 0)
        return met(`${chain.checked} record(s) of ${evidence.where} chain intact`);
      if (chain.ok)
        return missing(
          [`${evidence.where} holds no record yet`],
          'start the deployment and let it record calls',
        );
      return missing([`${evidence.where} does not verify: ${chain.problem ?? 'unknown problem'}`], VERIFY);
    }),
};

const SIGN =
  'give the deployment a checkpoint key (`keys.checkpoints`) so that writers sign checkpoints, and keep its public key (`reins audit public-key`) where posture and verify read it';

const checkpointsSigned: Criterion = {
  id: 'logs.checkpoints-signed',
  primitive: 'logs',
  title: 'Signed checkpoints exist and their signatures verify',
  judge: (context) =>
    fromLog(context, SIGN, (evidence) => {
      const { chain } = evidence;
      const facts = `${evidence.checkpoints} checkpoint(s); ${chain.checkpointsVerified} verified, signatures ${chain.signaturesChecked ? 'checked against the deployment key' : 'not checked (no public key)'}`;
      if (chain.ok && chain.checkpointsVerified > 0 && chain.signaturesChecked) return met(facts);
      return missing([facts], SIGN);
    }),
};

const USE_REVERSIBLE =
  'declare compensations (`reversal:` or `rollback.profiles`) for the tools agents change state with, and let them run: each call is then recorded `reversible` with the state it captured';

const captured: Criterion = {
  id: 'rollback.captured',
  primitive: 'rollback',
  title: 'Reversible calls were recorded with the state to undo them',
  judge: (context) =>
    fromLog(context, USE_REVERSIBLE, (evidence, tally) => {
      const facts = `${tally.reversible} call(s) recorded reversible (${tally.reversibleCaptured} with captured state), ${tally.unavailable} whose compensation was unavailable, ${scanned(evidence)}`;
      // every reversible call must carry the state its compensation restores: a call recorded
      // reversible with nothing captured cannot be undone to the state it changed
      const allCaptured = tally.reversible > 0 && tally.reversibleCaptured === tally.reversible;
      if (allCaptured && tally.unavailable === 0) return met(facts);
      return missing([facts], USE_REVERSIBLE);
    }),
};

const REHEARSE =
  "rehearse an undo: roll a test session back (`reins rollback --session <id> --dry-run`, then without `--dry-run`; or the console's session page) and check what it restored";

const rehearsed: Criterion = {
  id: 'rollback.rehearsed',
  primitive: 'rollback',
  title: 'A rollback has been run',
  judge: (context) =>
    fromLog(context, REHEARSE, (evidence, tally) => {
      const rollbacks = context.agent === undefined ? evidence.rollbacks : 0;
      const facts = `${rollbacks} rollback(s) and ${tally.compensations} compensation call(s) ${scanned(evidence)}`;
      if (rollbacks > 0 || tally.compensations > 0) return met(facts);
      return missing([facts], REHEARSE);
    }),
};

export const LOG_CRITERIA = {
  approvalExercised,
  linksRecorded,
  requestsDeclared,
  chainVerifies,
  checkpointsSigned,
  captured,
  rehearsed,
} as const;
