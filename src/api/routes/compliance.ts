/**
 * @module api/routes/compliance
 * `GET /v1/compliance` (viewers, issue 19): the last compliance scan this process ran on its schedule
 * (`compliance.every` of reins.yaml; inspect/compliance-scan), with its findings, checks and
 * least-privilege recommendation. 404 while no scan has finished, 503 when none is scheduled here.
 */
import { createRoute } from '@hono/zod-openapi';
import { type ComplianceReport, ComplianceReportSchema } from '../../spec/compliance.js';
import { ApiError, ApiErrorSchema } from '../api-errors.js';
import { type ControlApp, userOf } from './control-services.js';

/** The last scan, if one finished (undefined before the first). */
export type ComplianceSource = () => ComplianceReport | undefined;

const json = <T extends typeof ComplianceReportSchema | typeof ApiErrorSchema>(
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
    200: json(ComplianceReportSchema, 'the last scan'),
    401: json(ApiErrorSchema, 'not authenticated'),
    403: json(ApiErrorSchema, 'the caller lacks the role'),
    404: json(ApiErrorSchema, 'no scan has finished yet'),
    503: json(ApiErrorSchema, 'no scan is scheduled in this process (`compliance.every`)'),
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
    const report = source();
    if (report === undefined) throw new ApiError('not_found', 'no compliance scan has finished yet');
    return context.json(report, 200);
  });
}
