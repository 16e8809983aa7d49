/**
 * @module api/routes/ops
 * `/healthz`, `/readyz` and `/metrics` on the control plane's listener, outside `/v1` and so without
 * its authentication (spec/ops-endpoints says why that is safe). Served only when the process hands
 * in its `OpsStatus` (`reins serve`); the same answers as on the gateway's listener.
 */

import type { OpsStatus } from '../../spec/ops.js';
import { answerOps, OPS_PATHS } from '../../spec/ops-endpoints.js';
import type { ControlApp } from './control-services.js';

export function mountOpsRoutes(app: ControlApp, ops: OpsStatus): void {
  for (const path of OPS_PATHS) {
    app.get(path, async (context) => {
      const answer = await answerOps(path, ops);
      if (answer === undefined) return context.notFound();
      return context.body(answer.body, answer.status as 200, {
        'content-type': answer.contentType,
        'cache-control': 'no-store',
      });
    });
  }
}
