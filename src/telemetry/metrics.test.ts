/**
 * @module telemetry/metrics.test
 * The metrics of one process: names, labels, bounded label values, scraped gauges read from their
 * sources, and readiness made of its checks. Parsed back with a Prometheus text parser, as a scraper
 * would read them.
 */
import { describe, expect, it } from 'vitest';
import { type MetricFamilies, metricValue, parseMetrics } from '../../test/support/prometheus-text.js';
import type { UpstreamHealth } from '../spec/ops.js';
import { ReinsMetrics } from './metrics.js';
import { createOpsStatus } from './ops-status.js';

async function scrape(metrics: ReinsMetrics): Promise<MetricFamilies> {
  return parseMetrics((await metrics.text()).body);
}

describe('ReinsMetrics', () => {
  it('counts decisions by effect and each deciding rule, and times decisions and calls', async () => {
    const metrics = new ReinsMetrics({ defaultMetrics: false });
    metrics.observeCall({
      effect: 'allow',
      decidedBy: ['reads'],
      outcome: 'ok',
      decisionSeconds: 0.001,
      durationSeconds: 0.01,
    });
    metrics.observeCall({
      effect: 'allow',
      decidedBy: ['reads'],
      outcome: 'ok',
      decisionSeconds: 0.002,
      durationSeconds: 0.02,
    });
    metrics.observeCall({
      effect: 'deny',
      decidedBy: ['no-sends', 'no-pii'],
      outcome: 'denied',
      decisionSeconds: 0.001,
      durationSeconds: 0.001,
    });
    metrics.observeCall({
      effect: 'deny',
      decidedBy: ['reins.invalid_input'],
      outcome: 'denied',
      durationSeconds: 0,
    });
    const families = await scrape(metrics);
    expect(families.get('reins_decisions_total')?.type).toBe('COUNTER');
    expect(metricValue(families, 'reins_decisions_total', { effect: 'allow', rule: 'reads' })).toBe(2);
    expect(metricValue(families, 'reins_decisions_total', { effect: 'deny', rule: 'no-sends' })).toBe(1);
    expect(metricValue(families, 'reins_decisions_total', { effect: 'deny', rule: 'no-pii' })).toBe(1);
    expect(
      metricValue(families, 'reins_decisions_total', { effect: 'deny', rule: 'reins.invalid_input' }),
    ).toBe(1);
    expect(metricValue(families, 'reins_calls_total', { effect: 'deny', outcome: 'denied' })).toBe(2);
    expect(metricValue(families, 'reins_decision_duration_seconds_count', { effect: 'allow' })).toBe(2);
    // the call refused before a decision has no decision latency, but a call duration
    expect(metricValue(families, 'reins_decision_duration_seconds_count', { effect: 'deny' })).toBe(1);
    expect(metricValue(families, 'reins_call_duration_seconds_count', { effect: 'deny' })).toBe(2);
  });

  it('bounds the distinct rule and reason values (the rest count as `other`)', async () => {
    const metrics = new ReinsMetrics({ defaultMetrics: false, maxRuleLabels: 2, maxCodeLabels: 1 });
    for (const rule of ['a', 'b', 'c', 'd'])
      metrics.observeCall({ effect: 'allow', decidedBy: [rule], outcome: 'ok', durationSeconds: 0 });
    metrics.credentialRejected('expired');
    metrics.credentialRejected('bad_signature');
    const families = await scrape(metrics);
    expect(
      families
        .get('reins_decisions_total')
        ?.metrics.map((m) => m.labels?.rule)
        .sort(),
    ).toEqual(['a', 'b', 'other']);
    expect(metricValue(families, 'reins_decisions_total', { rule: 'other' })).toBe(2);
    expect(metricValue(families, 'reins_credential_rejections_total', { reason: 'expired' })).toBe(1);
    expect(metricValue(families, 'reins_credential_rejections_total', { reason: 'other' })).toBe(1);
  });

  it('reads the audit queue, pending approvals and upstreams from their sources when scraped', async () => {
    const metrics = new ReinsMetrics({ defaultMetrics: false });
    let depth = 3;
    const upstreams: UpstreamHealth[] = [
      { name: 'files', connected: true, restarts: 0 },
      { name: 'web', connected: false, restarts: 2 },
    ];
    metrics.setSources({
      auditQueueDepth: () => depth,
      pendingApprovals: async () => 4,
      upstreams: () => upstreams,
    });
    metrics.observeAuditCommit({ items: 5, seconds: 0.003, ok: true });
    metrics.observeAuditCommit({ items: 1, seconds: 0.5, ok: false });
    let families = await scrape(metrics);
    expect(metricValue(families, 'reins_audit_queue_depth', {})).toBe(3);
    expect(metricValue(families, 'reins_approvals_pending', {})).toBe(4);
    expect(metricValue(families, 'reins_upstream_up', { upstream: 'files' })).toBe(1);
    expect(metricValue(families, 'reins_upstream_up', { upstream: 'web' })).toBe(0);
    expect(metricValue(families, 'reins_upstream_restarts_total', { upstream: 'web' })).toBe(2);
    expect(metricValue(families, 'reins_upstream_restarts_total', { upstream: 'files' })).toBe(0);
    expect(metricValue(families, 'reins_audit_commit_duration_seconds_count', { result: 'ok' })).toBe(1);
    expect(metricValue(families, 'reins_audit_commit_duration_seconds_count', { result: 'failed' })).toBe(1);
    depth = 0;
    upstreams[1] = { name: 'web', connected: true, restarts: 3 };
    families = await scrape(metrics);
    expect(metricValue(families, 'reins_audit_queue_depth', {})).toBe(0);
    expect(metricValue(families, 'reins_upstream_up', { upstream: 'web' })).toBe(1);
    // a counter: it moves by the restarts added, and scraping twice does not count them twice
    expect(metricValue(families, 'reins_upstream_restarts_total', { upstream: 'web' })).toBe(3);
    families = await scrape(metrics);
    expect(metricValue(families, 'reins_upstream_restarts_total', { upstream: 'web' })).toBe(3);
  });

  it('reads the store-backed gauge once for a burst of scrapes (the endpoint is unauthenticated)', async () => {
    const metrics = new ReinsMetrics({ defaultMetrics: false });
    let reads = 0;
    metrics.setSources({
      pendingApprovals: async () => {
        reads += 1;
        return 2;
      },
    });
    const scrapes = await Promise.all(Array.from({ length: 100 }, () => scrape(metrics)));
    expect(scrapes.every((families) => metricValue(families, 'reins_approvals_pending', {}) === 2)).toBe(
      true,
    );
    expect(reads).toBe(1);
  });

  it('keeps each process in a registry of its own, with Node process metrics prefixed reins_', async () => {
    const one = new ReinsMetrics();
    const two = new ReinsMetrics();
    one.credentialRejected('expired');
    const families = await scrape(two);
    expect(metricValue(families, 'reins_credential_rejections_total', { reason: 'expired' })).toBeUndefined();
    expect(families.has('reins_process_cpu_user_seconds_total')).toBe(true);
    for (const name of families.keys()) expect(name.startsWith('reins_')).toBe(true);
  });
});

describe('createOpsStatus', () => {
  const metrics = new ReinsMetrics({ defaultMetrics: false });
  const ok = {
    metrics,
    policy: () => ({ loaded: true, detail: 'sha256:abc' }),
    storeWritable: async () => {},
  };

  it('is ready when the policy is loaded, the store writable and every upstream connected', async () => {
    const status = createOpsStatus({
      ...ok,
      upstreams: () => [{ name: 'files', connected: true, restarts: 0 }],
    });
    const readiness = await status.readiness();
    expect(readiness.ready).toBe(true);
    expect(readiness.checks.map((check) => check.name)).toEqual(['policy', 'store', 'upstream:files']);
  });

  it('names each failing check: an upstream away, a store that refuses or does not answer in time', async () => {
    const away = createOpsStatus({
      ...ok,
      upstreams: () => [
        {
          name: 'files',
          connected: false,
          restarts: 1,
          since: '2026-01-01T09:00:00.000Z',
          lastError: 'token=abc',
        },
      ],
    });
    const readiness = await away.readiness();
    expect(readiness.ready).toBe(false);
    expect(readiness.checks.filter((check) => !check.ok)).toEqual([
      {
        name: 'upstream:files',
        ok: false,
        detail: 'not connected since 2026-01-01T09:00:00.000Z (restarting with backoff)',
      },
    ]);
    const refusing = createOpsStatus({
      ...ok,
      upstreams: () => [],
      storeWritable: async () => {
        throw Object.assign(new Error('connect ECONNREFUSED db.internal:5432 user=reins'), {
          code: 'ECONNREFUSED',
        });
      },
    });
    // the unauthenticated endpoint names the kind of failure, never the driver's text
    expect((await refusing.readiness()).checks.find((check) => check.name === 'store')).toEqual({
      name: 'store',
      ok: false,
      detail: 'not writable (ECONNREFUSED)',
    });
    const hanging = createOpsStatus({
      ...ok,
      upstreams: () => [],
      storeWritable: () => new Promise(() => {}),
      storeTimeoutMs: 20,
    });
    const hung = await hanging.readiness();
    expect(hung.ready).toBe(false);
    expect(hung.checks.find((check) => check.name === 'store')?.detail).toBe('not writable (timeout)');
  });

  it('answers a burst of readiness requests with one store probe', async () => {
    let probes = 0;
    const status = createOpsStatus({
      metrics: new ReinsMetrics(),
      policy: () => ({ loaded: true }),
      upstreams: () => [],
      storeWritable: async () => {
        probes += 1;
      },
    });
    const answers = await Promise.all(Array.from({ length: 50 }, () => status.readiness()));
    expect(answers.every((answer) => answer.ready)).toBe(true);
    expect(probes).toBe(1);
  });
});
