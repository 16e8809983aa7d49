/**
 * @module api/routes/compliance
 * `GET /v1/compliance` (viewers, issue 19): the last compliance scan this process ran on its schedule
 * (`compliance.every` of reins.yaml; inspect/compliance-scan), with its findings, checks and
 * least-privilege recommendation. The report is marked `stale` (with the reason and the error) when the
 * last attempt failed or it is older than twice the schedule's period; 404 while no scan has finished,
 * 503 when none is scheduled here or none has ever succeeded (with the last error).
 */
import { createRoute } from '@hono/zod-openapi';
import {
  type ComplianceScanState,
  ScheduledComplianceSchema,
  servedCompliance,
} from '../../spec/compliance.js';
import { ApiError, ApiErrorSchema } from '../api-errors.js';
import { type ControlApp, userOf } from './control-services.js';

/** The scheduled scan's state: its last successful report and its last attempt. */
export type ComplianceSource = () => ComplianceScanState;

const json = <T extends typeof ScheduledComplianceSchema | typeof ApiErrorSchema>(
  schema: T,
  description: string,
) => ({
  content: { 'application/json': { schema } },
  description,
});

export const complianceRoute = createRoute({
  method: 'get',
  path: '/v1/compliance',
  tags: ['console'],
  summary:
    'The last scheduled compliance scan: findings with evidence and fixes, least-privilege recommendation (viewer)',
  security: [{ bearer: [] }, { console: [] }],
  responses: {
    200: json(
      ScheduledComplianceSchema,
      'the last successful scan, `stale` when it no longer speaks for now',
    ),
    401: json(ApiErrorSchema, 'not authenticated'),
    403: json(ApiErrorSchema, 'the caller lacks the role'),
    404: json(ApiErrorSchema, 'no scan has finished yet'),
    503: json(
      ApiErrorSchema,
      'no scan is scheduled in this process (`compliance.every`), or none has succeeded yet',
    ),
  },
});

export function mountComplianceRoute(app: ControlApp, source: ComplianceSource | undefined): void {
  app.openapi(complianceRoute, async (context) => {
    userOf(context, 'viewer');
    if (source === undefined)
      throw new ApiError(
        'unavailable',
        'no compliance scan is scheduled here: set `compliance.every` in reins.yaml, or run `reins compliance scan`',
      );
    const state = source();
    const { report } = state;
    if (report === undefined && state.lastError !== undefined)
      throw new ApiError(
        'unavailable',
        `no compliance scan has succeeded; the last one (started ${state.lastAttemptAt}) failed: ${state.lastError}`,
      );
    if (report === undefined) throw new ApiError('not_found', 'no compliance scan has finished yet');
    return context.json(servedCompliance({ ...state, report }, Date.now()), 200);
  });
}
