/**
 * @module api/routes/dashboard
 * `GET /v1/dashboard?window=&buckets=` (viewers, issue 17): what the console's dashboard draws — the
 * decisions of a window ending now per time bucket by effect, the most denied tools, how long held
 * calls waited for a human (inspect/dashboard-aggregates reads them from the audit log), and the health
 * of this process's upstreams when the process reports it (`OpsStatus`; a control plane without a
 * gateway has none). Declared here with its schemas, so that it is in the OpenAPI document.
 */
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { DASHBOARD_LIMITS, dashboardAggregates } from '../../inspect/dashboard-aggregates.js';
import { parseDuration } from '../../spec/duration.js';
import { ApiErrorSchema } from '../api-errors.js';
import { type ControlApp, type ControlServices, userOf } from './control-services.js';

const DEFAULT_WINDOW = '24h';
const DEFAULT_BUCKETS = 48;

const WindowSchema = z
  .string()
  .default(DEFAULT_WINDOW)
  .transform((text, context) => {
    const ms = parseDuration(text);
    if (ms === undefined || ms > DASHBOARD_LIMITS.maxWindowMs) {
      context.addIssue({
        code: 'custom',
        message: `\`${text}\` is not a window: use a positive duration up to 31d, such as \`1h\`, \`24h\` or \`7d\``,
      });
      return z.NEVER;
    }
    return ms;
  })
  .openapi({
    type: 'string',
    description: 'How far back from now (`15m`, `24h`, `7d`; at most `31d`). Default `24h`.',
  });

const CountsSchema = z.strictObject({
  allow: z.number().int(),
  deny: z.number().int(),
  approve: z.number().int(),
});

export const UpstreamHealthSchema = z.strictObject({
  name: z.string(),
  connected: z.boolean(),
  /** Reconnections since the process started. */
  restarts: z.number().int(),
  /** When it last connected or went away (ISO 8601). */
  since: z.string().optional(),
  lastError: z.string().optional(),
});

export const DashboardSchema = z.strictObject({
  window: z.strictObject({ from: z.string(), to: z.string(), durationMs: z.number(), bucketMs: z.number() }),
  decisions: z.strictObject({
    /** Call intents by the effect decided, per bucket, oldest first; each bucket starts at `start`. */
    buckets: z.array(CountsSchema.extend({ start: z.string() })),
    totals: CountsSchema,
  }),
  /** The ten tools denied most often in the window, most first; `tool` is `server/name`. */
  topDenied: z.array(z.strictObject({ tool: z.string(), count: z.number().int() })),
  /**
   * Held calls a human decided in the window (deciding vote in it, a verdict on the outcome): from the
   * intent, older than the window or not, to the deciding vote.
   */
  approvalWaits: z.strictObject({
    count: z.number().int(),
    p50Ms: z.number().optional(),
    p90Ms: z.number().optional(),
    maxMs: z.number().optional(),
    /** Waits under `upToMs` (and at or over the previous bin's); `null`: longer than every bin. */
    histogram: z.array(z.strictObject({ upToMs: z.number().nullable(), count: z.number().int() })),
  }),
  /** `reported: false`: this process does not run the gateway, so it knows no upstream. */
  upstreams: z.strictObject({ reported: z.boolean(), items: z.array(UpstreamHealthSchema) }),
  /**
   * Records read (with those read before the window for older intents); `truncated`: the window held
   * more than one dashboard reads (200,000).
   */
  scan: z.strictObject({ records: z.number().int(), truncated: z.boolean() }),
});

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});

export const dashboardRoute = createRoute({
  method: 'get',
  path: '/v1/dashboard',
  tags: ['console'],
  summary: 'Decisions over time by effect, top denied tools, approval wait times, upstream health (viewer)',
  security: [{ bearer: [] }, { console: [] }],
  request: {
    query: z.object({
      window: WindowSchema,
      buckets: z.coerce
        .number()
        .int()
        .min(1)
        .max(DASHBOARD_LIMITS.maxBuckets)
        .default(DEFAULT_BUCKETS)
        .openapi({ description: 'Time buckets the window is split into (1 to 200). Default 48.' }),
    }),
  },
  responses: {
    200: json(DashboardSchema, 'the dashboard'),
    400: json(ApiErrorSchema, 'invalid input'),
    401: json(ApiErrorSchema, 'not authenticated'),
    403: json(ApiErrorSchema, 'the caller lacks the role'),
    500: json(ApiErrorSchema, 'internal error (no details are given)'),
  },
});

export function mountDashboardRoute(app: ControlApp, services: ControlServices): void {
  app.openapi(dashboardRoute, async (context) => {
    userOf(context, 'viewer');
    const query = context.req.valid('query');
    const aggregates = await dashboardAggregates(services.audit, {
      windowMs: query.window,
      buckets: query.buckets,
      now: services.clock(),
    });
    const items = services.ops?.upstreams() ?? [];
    return context.json(
      {
        ...aggregates,
        decisions: { buckets: [...aggregates.decisions.buckets], totals: aggregates.decisions.totals },
        topDenied: [...aggregates.topDenied],
        approvalWaits: { ...aggregates.approvalWaits, histogram: [...aggregates.approvalWaits.histogram] },
        upstreams: { reported: services.ops !== undefined, items: items.map((item) => ({ ...item })) },
      },
      200,
    );
  });
}
