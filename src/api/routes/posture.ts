/**
 * @module api/routes/posture
 * `GET /v1/posture?agent=` (viewers, issue 19): the posture score of the deployment this process
 * serves, 0–25 over the five primitives, and of each agent (or only the one asked for), every point
 * with its evidence and every missing one with the fix and the points it gains (inspect/posture,
 * docs/posture.md). The report is composed where the configuration is known (cli/serve-command) and
 * handed in as a function, so this layer reads no configuration file itself. Declared here with its
 * schemas, so that it is in the OpenAPI document.
 */
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { type PostureReport, PRIMITIVES } from '../../inspect/posture-model.js';
import { ApiError, ApiErrorSchema } from '../api-errors.js';
import { type ControlApp, userOf } from './control-services.js';

/** Scores the deployment, and each agent (or only `agentId`, which must be registered); may be a report computed shortly before. */
export type PostureSource = (agentId?: string) => Promise<PostureReport>;

const PatchSchema = z.union([
  z.strictObject({
    target: z.literal('policy'),
    /** The policy file it applies to. */
    file: z.string(),
    op: z.enum(['append', 'set', 'delete']),
    path: z.array(z.union([z.string(), z.number()])).readonly(),
    value: z.unknown().optional(),
  }),
  z.strictObject({
    target: z.literal('gateway'),
    op: z.literal('set'),
    path: z.array(z.string()).readonly(),
    value: z.unknown(),
  }),
]);

const CriterionSchema = z.strictObject({
  /** `<primitive>.<name>` (docs/posture.md lists them). */
  id: z.string(),
  primitive: z.enum(PRIMITIVES),
  title: z.string(),
  points: z.union([z.literal(0), z.literal(1)]),
  /** What was found, or what is missing, one fact a line. */
  evidence: z.array(z.string()).readonly(),
  /** Present exactly when the point is missing. */
  fix: z
    .strictObject({
      text: z.string(),
      /** The change to the configuration; empty when the point is earned by running the deployment. */
      patches: z.array(PatchSchema).readonly(),
      /** Points the score gains once applied (for patches: computed by scoring the patched configuration). */
      gain: z.number(),
    })
    .optional(),
});

// readonly arrays: the report's types (inspect/posture-model) are readonly throughout
const ScopeScoreSchema = z.strictObject({
  scope: z.union([
    z.strictObject({ kind: z.literal('deployment') }),
    z.strictObject({ kind: z.literal('agent'), agentId: z.string() }),
  ]),
  score: z.number().int(),
  max: z.number().int(),
  primitives: z
    .array(
      z.strictObject({
        primitive: z.enum(PRIMITIVES),
        title: z.string(),
        points: z.number().int(),
        criteria: z.array(CriterionSchema).readonly(),
      }),
    )
    .readonly(),
});

export const PostureReportSchema = z.strictObject({
  generatedAt: z.string(),
  /** When this report was computed: the deployment serves one computation for up to a minute. */
  computedAt: z.string().optional(),
  /** The configuration and policy files scored, and where the log evidence came from. */
  sources: z.strictObject({ config: z.string(), policy: z.array(z.string()).readonly(), log: z.string() }),
  deployment: ScopeScoreSchema,
  /** Every registered agent that is not retired, or only the one asked for. */
  agents: z.array(ScopeScoreSchema).readonly(),
});

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});

export const postureRoute = createRoute({
  method: 'get',
  path: '/v1/posture',
  tags: ['console'],
  summary:
    'The posture score 0-25 of the deployment and each agent over the five primitives, with evidence and fixes (viewer)',
  security: [{ bearer: [] }, { console: [] }],
  request: {
    query: z.object({
      agent: z
        .string()
        .min(1)
        .max(256)
        .optional()
        .openapi({ description: 'Score only this agent (and the deployment).' }),
    }),
  },
  responses: {
    200: json(PostureReportSchema, 'the score with its evidence'),
    400: json(ApiErrorSchema, 'invalid input, or a policy that does not compile'),
    401: json(ApiErrorSchema, 'not authenticated'),
    403: json(ApiErrorSchema, 'the caller lacks the role'),
    404: json(ApiErrorSchema, 'the agent asked for is not registered'),
    409: json(
      ApiErrorSchema,
      'the policy files are not the policy in force (a reload was rejected or is pending)',
    ),
    500: json(ApiErrorSchema, 'internal error (no details are given)'),
    503: json(ApiErrorSchema, 'this process does not know its configuration (not started by `reins serve`)'),
  },
});

export function mountPostureRoute(app: ControlApp, source: PostureSource | undefined): void {
  app.openapi(postureRoute, async (context) => {
    userOf(context, 'viewer');
    if (source === undefined)
      throw new ApiError(
        'unavailable',
        'this control plane was started without its configuration: run `reins posture --config <reins.yaml>`',
      );
    const { agent } = context.req.valid('query');
    return context.json(await source(agent), 200);
  });
}
