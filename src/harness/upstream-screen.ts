/**
 * @module harness/upstream-screen
 * The one screen for everything that comes from an upstream: tool results, error messages (JSON-RPC
 * errors, exceptions quoting a connection string), resource contents, prompts, the definitions listed
 * to agents (tool, resource and prompt descriptions) and the text of upstream lifecycle events that
 * reach the operator's log. All of it is attacker-controlled or careless, so all of it passes the
 * policy's output redaction for the tool it belongs to before an agent, a record or a human sees it.
 *
 * Nothing here throws: a value that cannot be screened (too deep, a detector failing) is withheld
 * with a generic reason (fail closed), never passed on raw.
 */
import type { PreparedPolicy } from '../policy/prepared-policy.js';
import type { RedactionPolicy } from '../policy/redaction-policy.js';
import type { ToolFacts } from '../spec/decision.js';
import { describeError } from '../spec/errors.js';
import type { ToolRef } from '../spec/tool-call.js';
import type { PolicyHandle } from './types.js';

/** A screened value, or why it is withheld (the kind and place of the data, never the data). */
export type Screened<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string };

/**
 * Screens `value` with the output actions for `tool`: findings to redact become typed placeholders; a
 * finding the policy blocks, or a failure to screen, withholds the whole value. `what` names it in the
 * reason (`the result`, `the error message`). Without a `redaction:` section nothing is screened.
 */
export function screenUpstreamValue<T>(
  redaction: RedactionPolicy | undefined,
  tool: ToolRef,
  facts: ToolFacts | undefined,
  value: T,
  what: string,
): Screened<T> {
  if (redaction === undefined) return { ok: true, value };
  let result: ReturnType<RedactionPolicy['redactOutput']>;
  try {
    result = redaction.redactOutput(tool, facts, value);
  } catch (error) {
    return { ok: false, reason: `${what} could not be screened for secrets (${describeError(error)})` };
  }
  const blocked = result.findings.filter((finding) => finding.action === 'block');
  if (blocked.length === 0) return { ok: true, value: result.value as T };
  const where = blocked
    .slice(0, 5)
    .map((finding) => `${finding.detector} at \`${finding.path}\``)
    .join(', ');
  return { ok: false, reason: `${what} contains ${where}, which the redaction policy blocks` };
}

/**
 * Text for people (log lines): every finding that is not allowed becomes its placeholder, blocked ones
 * included, so the line stays useful; text that cannot be screened is replaced by a notice.
 */
export function screenUpstreamText(
  redaction: RedactionPolicy | undefined,
  tool: ToolRef,
  facts: ToolFacts | undefined,
  text: string,
): string {
  if (redaction === undefined) return text;
  try {
    const redacted = redaction.redactOutput(tool, facts, text).value;
    return typeof redacted === 'string' ? redacted : WITHHELD_TEXT;
  } catch {
    return WITHHELD_TEXT;
  }
}

const WITHHELD_TEXT = '(text withheld: it could not be screened for secrets)';

/** `screenUpstreamValue` with the policy's redaction and its catalogue facts for `tool`. */
export function screenWithPolicy<T>(
  policy: PreparedPolicy,
  tool: ToolRef,
  value: T,
  what: string,
): Screened<T> {
  try {
    return screenUpstreamValue(policy.redaction, tool, policy.toolFacts(tool), value, what);
  } catch (error) {
    return { ok: false, reason: `${what} could not be screened for secrets (${describeError(error)})` };
  }
}

/** `screenUpstreamText` with the policy's redaction and its catalogue facts for `tool`. */
export function screenTextWithPolicy(policy: PreparedPolicy, tool: ToolRef, text: string): string {
  try {
    return screenUpstreamText(policy.redaction, tool, policy.toolFacts(tool), text);
  } catch {
    return WITHHELD_TEXT;
  }
}

/**
 * The screen for what an upstream says about itself (connection errors, notifications its client
 * rejects): the policy in force at the time, with the changes for that server (there is no tool).
 */
export function upstreamTextScreen(policy: PolicyHandle, server: string): (text: string) => string {
  const tool: ToolRef = { server, name: '' };
  return (text) => {
    try {
      return screenUpstreamText(policy.current.redaction, tool, undefined, text);
    } catch {
      return WITHHELD_TEXT;
    }
  };
}
