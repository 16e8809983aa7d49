/**
 * @module api/routes/monitor
 * `GET /v1/monitor/findings?limit=&scan=&agentId=` (viewers, issue 19): the runtime monitor's recent
 * findings across sessions, newest first, each with the call that raised it (its session, agent, tool
 * and effect), read from the call intents of the audit log (inspect/monitor-findings). The read is
 * bounded by `scan` intents and the answer says where it stopped. Declared here with its schemas, so
 * that it is in the OpenAPI document.
 */
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { recentMonitorFindings } from '../../inspect/monitor-findings.js';
import { MonitorFindingSchema } from '../../spec/monitor.js';
import { ApiErrorSchema } from '../api-errors.js';
import { type ControlApp, type ControlServices, userOf } from './control-services.js';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1_000;
const DEFAULT_SCAN = 10_000;
const MAX_SCAN = 100_000;

export const RecordedFindingSchema = z.strictObject({
  /** The sequence number of the intent record of the call that raised it. */
  seq: z.number().int(),
  time: z.string(),
  decisionId: z.string(),
  sessionId: z.string(),
  agentId: z.string(),
  /** `server/name`. */
  tool: z.string(),
  /** The call's effect as decided, the monitor's action included (a pause denies the call). */
  effect: z.enum(['allow', 'deny', 'approve']),
  finding: MonitorFindingSchema,
});

export const MonitorFindingsSchema = z.strictObject({
  /** Newest call first; the findings of one call in the order they were recorded. */
  findings: z.array(RecordedFindingSchema),
  scan: z.strictObject({
    /** Call intents read, newest first. */
    intents: z.number().int(),
    /** The bound on `intents` (`scan`). */
    maxIntents: z.number().int(),
    /**
     * `end-of-log`: every call intent was read; `scan-bound`: `maxIntents` were read and older
     * findings may exist; `finding-limit`: `limit` findings were listed.
     */
    stopped: z.enum(['end-of-log', 'scan-bound', 'finding-limit']),
  }),
});

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});

export const monitorFindingsRoute = createRoute({
  method: 'get',
  path: '/v1/monitor/findings',
  tags: ['console'],
  summary:
    'Recent findings of the runtime monitor across sessions, newest first, from the call intents of the audit log (viewer)',
  security: [{ bearer: [] }, { console: [] }],
  request: {
    query: z.object({
      limit: z.coerce
        .number()
        .int()
        .min(1)
        .max(MAX_LIMIT)
        .default(DEFAULT_LIMIT)
        .openapi({ description: `Most findings returned (1 to ${MAX_LIMIT}). Default ${DEFAULT_LIMIT}.` }),
      scan: z.coerce
        .number()
        .int()
        .min(1)
        .max(MAX_SCAN)
        .default(DEFAULT_SCAN)
        .openapi({
          description: `Most call intents read, newest first (1 to ${MAX_SCAN}). Default ${DEFAULT_SCAN}.`,
        }),
      agentId: z.string().min(1).max(256).optional().openapi({ description: 'Only this agent’s calls.' }),
    }),
  },
  responses: {
    200: json(MonitorFindingsSchema, 'the findings, and how far back the log was read'),
    400: json(ApiErrorSchema, 'invalid input'),
    401: json(ApiErrorSchema, 'not authenticated'),
    403: json(ApiErrorSchema, 'the caller lacks the role'),
    500: json(ApiErrorSchema, 'internal error (no details are given)'),
  },
});

export function mountMonitorRoute(app: ControlApp, services: ControlServices): void {
  app.openapi(monitorFindingsRoute, async (context) => {
    userOf(context, 'viewer');
    const query = context.req.valid('query');
    const { findings, scan } = await recentMonitorFindings(services.audit, {
      limit: query.limit,
      maxIntents: query.scan,
      ...(query.agentId !== undefined ? { agentId: query.agentId } : {}),
    });
    return context.json(
      {
        findings: findings.map((item) => ({
          ...item,
          finding: {
            ...item.finding,
            records: [...item.finding.records],
            ...(item.finding.baseline ? { baseline: { ...item.finding.baseline } } : {}),
          },
        })),
        scan,
      },
      200,
    );
  });
}
