/**
 * @module spec/records/tool-pinning
 * `tool-pinning`: a tool definition pinned on first sight, quarantined (its definition changed since it
 * was approved, or its description carries instructions aimed at the model), or a call to a
 * quarantined tool, or to a tool that does not exist (`reason: unknown_tool`), refused.
 */
import { z } from 'zod';
import { ToolRefSchema } from '../tool-call.js';
import { toolKeyOf } from '../tool-key.js';
import type { RecordKind } from './record-kind.js';

/** Version 1. */
export const ToolPinningEventSchema = z.strictObject({
  v: z.literal(1),
  id: z.string().min(1),
  time: z.string(),
  kind: z.literal('tool-pinning'),
  /** Equal to `id`. */
  decisionId: z.string().min(1),
  tool: ToolRefSchema,
  status: z.enum(['pinned', 'quarantined', 'refused']),
  reason: z.string().optional(),
  fingerprint: z.string(),
  /** The approved fingerprint the definition no longer matches. */
  pinned: z.string().optional(),
  findings: z.array(z.strictObject({ code: z.string(), field: z.string() })).default([]),
  message: z.string(),
  /** For refused calls: who tried. */
  agentId: z.string().default(''),
  sessionId: z.string().default(''),
});
export type ToolPinningEvent = z.infer<typeof ToolPinningEventSchema>;

export const TOOL_PINNING: RecordKind<'tool-pinning', ToolPinningEvent> = {
  kind: 'tool-pinning',
  current: 1,
  versions: { 1: ToolPinningEventSchema },
  indexFields: (event) => ({
    time: event.time,
    kind: event.kind,
    decisionId: event.decisionId,
    sessionId: event.sessionId,
    agentId: event.agentId,
    tool: toolKeyOf(event.tool),
    effect: event.status,
  }),
};
