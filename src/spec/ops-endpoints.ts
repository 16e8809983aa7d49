/**
 * @module spec/ops-endpoints
 * The answers of `/healthz`, `/readyz` and `/metrics` (spec/ops), the same on both listeners (the
 * gateway's node:http server and the control plane's Hono app each put them on the wire). They are
 * unauthenticated, like any probe a platform sends: they say whether the process serves, whether it
 * is ready, and counts labelled only with names the deployment chose (never arguments, agents or
 * credentials).
 */
import type { OpsStatus } from './ops.js';

export const OPS_PATHS: readonly string[] = ['/healthz', '/readyz', '/metrics'];

export interface OpsAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * The answer to a GET of one of OPS_PATHS; undefined for any other path. Liveness is 200 as long as
 * the process answers at all; readiness is 503 with the failing checks named; a failure to collect
 * the metrics is a 500 that says so (a scraper then marks the target down).
 */
export async function answerOps(path: string, ops: OpsStatus): Promise<OpsAnswer | undefined> {
  if (path === '/healthz') return { status: 200, contentType: JSON_TYPE, body: '{"live":true}' };
  if (path === '/readyz') {
    const readiness = await ops.readiness();
    return { status: readiness.ready ? 200 : 503, contentType: JSON_TYPE, body: JSON.stringify(readiness) };
  }
  if (path === '/metrics') {
    try {
      const { contentType, body } = await ops.metrics();
      return { status: 200, contentType, body };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return {
        status: 500,
        contentType: 'text/plain; charset=utf-8',
        body: `metrics unavailable: ${message}\n`,
      };
    }
  }
  return undefined;
}
