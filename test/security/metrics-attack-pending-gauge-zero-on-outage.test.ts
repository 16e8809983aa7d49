/**
 * Fixed: `reins_approvals_pending` is a ReadGauge (telemetry/tallies.ts): a failed read gives no sample, never 0.
 * Attack (real deployment): the store holding approval requests becomes unreadable (PostgreSQL down,
 * SQLite locked) while 7 held calls wait for humans. `reins_approvals_pending` should then show NO
 * value ("a store that cannot be read shows no value rather than a stale one (readiness says why)",
 * telemetry/metrics.ts), so an alert like `reins_approvals_pending > 0 for 30m` goes stale/absent
 * rather than resolving. But prom-client's `Gauge.reset()` on an unlabelled gauge sets it back to 0,
 * so the scrape reports `reins_approvals_pending 0`: a confident "nobody is waiting" exactly while the
 * store is down — the pending-approvals alert resolves itself during an outage.
 *
 * Expected safe behaviour: no `reins_approvals_pending` sample while its source fails.
 */
import { describe, expect, it } from 'vitest';
import { ReinsMetrics, STORE_GAUGE_REUSE_MS } from '../../src/telemetry/metrics.js';
import { metricValue, parseMetrics } from '../support/prometheus-text.js';

describe('metrics attack: pending approvals gauge during a store outage', () => {
  it('shows no value, not 0, when the store cannot be read', async () => {
    const metrics = new ReinsMetrics({ defaultMetrics: false });
    let storeDown = false;
    metrics.setSources({
      pendingApprovals: async () => {
        if (storeDown) throw new Error('connect ECONNREFUSED 10.0.0.5:5432');
        return 7;
      },
    });
    expect(metricValue(parseMetrics((await metrics.text()).body), 'reins_approvals_pending')).toBe(7);
    storeDown = true;
    await new Promise((resolve) => setTimeout(resolve, STORE_GAUGE_REUSE_MS + 100));
    const body = (await metrics.text()).body;
    expect(body.split('\n').filter((line) => line.startsWith('reins_approvals_pending '))).toEqual([]);
  });
});
