/**
 * @module policy/screen-arguments
 * Applies the policy's redaction to one call: at decision time to its arguments (block = deny naming
 * the detector, never the value; hold = approval; redact = the tool runs with placeholders). What comes
 * back (results and error messages) is screened by harness/upstream-screen. Whatever is recorded or
 * shown is the redacted view, so the audit log never stores a raw secret that the policy does not
 * allow. Any failure fails closed. Part of the one decision entry point (policy/decide-call).
 */
import type { ValueFinding } from '../detect/redact-value.js';
import type { Decision, Diagnostic, Obligation } from '../spec/decision.js';
import { describeError } from '../spec/errors.js';
import type { ToolCall } from '../spec/tool-call.js';
import type { RedactionPolicy } from './redaction-policy.js';

/** What `decidedBy` names when the screening determined the effect. */
export const REDACTION_RULE = 'reins.redaction';

export interface ScreenedCall {
  /** The call as recorded, shown to approvers and kept in the session history (redacted arguments). */
  readonly call: ToolCall;
  /** The arguments the tool runs with: redacted, or the originals when humans approve a held call. */
  readonly executeArgs: Record<string, unknown>;
  readonly decision: Decision;
}

/** Arguments recorded when they could not be screened: the raw ones might hold a secret. */
const UNSCREENED = { withheld: 'the arguments could not be screened for secrets' };

/** `recorded`: the arguments were read back from the audit log (their placeholders count as findings). */
export function screenCall(
  redaction: RedactionPolicy | undefined,
  call: ToolCall,
  decision: Decision,
  recorded = false,
): ScreenedCall {
  if (redaction === undefined) return { call, executeArgs: call.args, decision };
  let screening: ReturnType<RedactionPolicy['screenInput']>;
  try {
    screening = redaction.screenInput(call.tool, decision.tool, call.args, recorded);
  } catch (error) {
    const message = `fail closed: arguments could not be screened: ${describeError(error)}`;
    return {
      call: { ...call, args: UNSCREENED },
      executeArgs: UNSCREENED,
      decision: restrict(decision, 'deny', { code: 'redaction_failed', message }),
    };
  }
  if (screening.action === 'allow') return { call, executeArgs: call.args, decision };
  const redacted: ToolCall = { ...call, args: screening.args };
  const acted = screening.findings.filter((finding) => finding.action === screening.action);
  if (screening.action === 'block') {
    const message = `${describeFindings(acted)}: blocked by the redaction policy`;
    return {
      call: redacted,
      executeArgs: screening.args,
      decision: restrict(decision, 'deny', { code: 'sensitive_input', message }),
    };
  }
  if (screening.action === 'hold') {
    const message = `${describeFindings(acted)}: held for review by the redaction policy`;
    // approved -> the original arguments run: the humans decided the value may go
    return {
      call: redacted,
      executeArgs: call.args,
      decision: restrict(decision, 'approve', { code: 'sensitive_input', message }),
    };
  }
  const message = `${describeFindings(screening.findings)}: redacted before the call`;
  return {
    call: redacted,
    executeArgs: screening.args,
    decision: { ...decision, diagnostics: [...decision.diagnostics, { code: 'input_redacted', message }] },
  };
}

/** A call held by the redaction policy needs one vote from the default approver roles. */
const REDACTION_APPROVAL: Obligation = {
  kind: 'approval',
  ruleIds: ['redaction'],
  requirements: [
    { ruleId: 'redaction', approvers: ['approver', 'admin'], quorum: 1, ownerMayApprove: false },
  ],
};

/** The decision made at least as strict as `effect` (deny stays deny), with the reason and diagnostic. */
function restrict(decision: Decision, effect: 'deny' | 'approve', diagnostic: Diagnostic): Decision {
  const diagnostics = [...decision.diagnostics, diagnostic];
  if (decision.effect === 'deny') return { ...decision, diagnostics };
  if (effect === 'deny') {
    return {
      ...decision,
      effect,
      reasons: [diagnostic.message],
      decidedBy: [REDACTION_RULE],
      obligations: [],
      diagnostics,
    };
  }
  const held = decision.effect === 'approve';
  const reasons = held ? [...decision.reasons, diagnostic.message] : [diagnostic.message];
  const decidedBy = held ? [...decision.decidedBy, REDACTION_RULE] : [REDACTION_RULE];
  const obligations = decision.obligations.some((obligation) => obligation.kind === 'approval')
    ? decision.obligations
    : [...decision.obligations, REDACTION_APPROVAL];
  return { ...decision, effect, reasons, decidedBy, obligations, diagnostics };
}

/** `argument \`notes\` contains aws_access_key (secret)` — the place and the kind, never the value. */
export function describeFindings(findings: readonly ValueFinding[]): string {
  const parts = findings
    .slice(0, 5)
    .map((finding) => `\`${finding.path}\` contains ${finding.detector} (${finding.class})`);
  const more = findings.length > 5 ? ` and ${findings.length - 5} more` : '';
  return `argument ${parts.join(', ')}${more}`;
}
