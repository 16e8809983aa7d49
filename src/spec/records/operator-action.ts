/**
 * @module spec/records/operator-action
 * `operator-action`: a human acted through the control plane or the CLI (decided an approval, paused or
 * killed a session, suspended an agent, granted an override, created a user), or the system did on its
 * own (a policy reload, actor `system`). Every write by a human is one of these.
 */
import { z } from 'zod';
import type { RecordKind } from './record-kind.js';

/** Version 1. */
export const OperatorActionEventSchema = z.strictObject({
  v: z.literal(1),
  id: z.string().min(1),
  time: z.string(),
  kind: z.literal('operator-action'),
  /** Equal to `id`, or the decision id of the call the action is about (approvals, overrides). */
  decisionId: z.string().min(1),
  /** Who acted (a human user id, or `cli:<os user>`), with the roles they held at the time. */
  actor: z.strictObject({ id: z.string().min(1), roles: z.array(z.string()).default([]) }),
  /** Dotted verb: `approval.approve`, `approval.deny`, `session.kill`, `agent.suspend`, ... */
  action: z.string().min(1),
  target: z.strictObject({ type: z.string().min(1), id: z.string().min(1) }),
  reason: z.string().default(''),
  /** The session and agent the action concerns, when there is one (for queries). */
  sessionId: z.string().default(''),
  agentId: z.string().default(''),
});
export type OperatorActionEvent = z.infer<typeof OperatorActionEventSchema>;

export const OPERATOR_ACTION: RecordKind<'operator-action', OperatorActionEvent> = {
  kind: 'operator-action',
  current: 1,
  versions: { 1: OperatorActionEventSchema },
  indexFields: (event) => ({
    time: event.time,
    kind: event.kind,
    decisionId: event.decisionId,
    sessionId: event.sessionId,
    agentId: event.agentId,
    tool: '',
    effect: event.action,
  }),
};
