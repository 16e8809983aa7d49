/**
 * @module test/console-dashboard-api.test
 * `GET /v1/dashboard` (issue 17) on a real SQLite deployment: known traffic sent through the real
 * gateway (`reins serve`, server-everything and a scripted upstream, the official MCP SDK client) —
 * allowed calls, denied calls, held calls a human approved or refused — and the aggregates the
 * dashboard shows, asserted exactly: decisions per time bucket by effect, the top denied tools, the
 * approval wait times (checked against the intent and vote records of the same log), and the upstream
 * health a process reports (or that it reports none). Bad parameters get a clear 400; viewers may read
 * it, agents may not; the route is in the OpenAPI document.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DashboardFixture,
  startDashboardFixture,
  TRAFFIC,
  UPSTREAMS,
} from './support/dashboard-fixture.js';

let fixture: DashboardFixture;

beforeAll(async () => {
  fixture = await startDashboardFixture();
}, 90_000);

afterAll(async () => {
  await fixture?.close();
});

interface Dashboard {
  window: { from: string; to: string; durationMs: number; bucketMs: number };
  decisions: {
    buckets: { start: string; allow: number; deny: number; approve: number }[];
    totals: { allow: number; deny: number; approve: number };
  };
  topDenied: { tool: string; count: number }[];
  approvalWaits: {
    count: number;
    p50Ms?: number;
    p90Ms?: number;
    maxMs?: number;
    histogram: { upToMs: number | null; count: number }[];
  };
  upstreams: { reported: boolean; items: { name: string; connected: boolean; restarts: number }[] };
  scan: { records: number; truncated: boolean };
}

function get(base: string, path: string, token = fixture.console.tokens.viewer): Promise<Response> {
  return fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
}

async function dashboard(base: string, query = ''): Promise<Dashboard> {
  const response = await get(base, `/v1/dashboard${query}`);
  expect(response.status).toBe(200);
  return (await response.json()) as Dashboard;
}

/** The wait of each human-decided held call, read from its intent and the votes on it in the log. */
async function waitsFromTheLog(): Promise<number[]> {
  const read = async (query: string) => {
    const response = await get(fixture.serveUrl, `/v1/audit?${query}&limit=1000`);
    return ((await response.json()) as { records: { event: Record<string, unknown> }[] }).records.map(
      (record) => record.event as { decisionId: string; time: string; decision?: { effect: string } },
    );
  };
  const held = await read('kind=call-intent&effect=approve');
  const votes = await read('kind=operator-action');
  return held.map((intent) => {
    const times = votes
      .filter((vote) => vote.decisionId === intent.decisionId)
      .map((vote) => Date.parse(vote.time));
    return Math.max(...times) - Date.parse(intent.time);
  });
}

describe('GET /v1/dashboard', () => {
  it('counts the decisions of the window by effect, per time bucket', async () => {
    const body = await dashboard(fixture.serveUrl, '?window=1h&buckets=12');
    expect(body.window.durationMs).toBe(3_600_000);
    expect(body.window.bucketMs).toBe(300_000);
    expect(Date.parse(body.window.to) - Date.parse(body.window.from)).toBe(3_600_000);
    expect(body.decisions.buckets).toHaveLength(12);
    expect(body.decisions.totals).toEqual({
      allow: TRAFFIC.allow,
      deny: TRAFFIC.deny,
      approve: TRAFFIC.approve,
    });
    const summed = { allow: 0, deny: 0, approve: 0 };
    for (const bucket of body.decisions.buckets) {
      summed.allow += bucket.allow;
      summed.deny += bucket.deny;
      summed.approve += bucket.approve;
    }
    expect(summed).toEqual(body.decisions.totals);
    // the traffic was sent just now: it is in the last bucket(s), none of it in the first
    expect(body.decisions.buckets[0]).toMatchObject({ allow: 0, deny: 0, approve: 0 });
    expect(body.decisions.buckets.map((bucket) => Date.parse(bucket.start))).toEqual(
      body.decisions.buckets.map((_, index) => Date.parse(body.window.from) + index * 300_000),
    );
    expect(body.scan).toEqual({ records: expect.any(Number), truncated: false });
  });

  it('lists the most denied tools, names as the agent sent them', async () => {
    const body = await dashboard(fixture.serveUrl, '?window=1h');
    expect(body.topDenied).toEqual(TRAFFIC.topDenied);
  });

  it('measures how long held calls waited for a human, from the intent to the deciding vote', async () => {
    const body = await dashboard(fixture.serveUrl, '?window=1h');
    const waits = (await waitsFromTheLog()).sort((a, b) => a - b);
    expect(waits).toHaveLength(2);
    for (const wait of waits) expect(wait).toBeGreaterThanOrEqual(TRAFFIC.minWaitMs);
    expect(body.approvalWaits).toMatchObject({
      count: 2,
      p50Ms: waits[0],
      p90Ms: waits[1],
      maxMs: waits[1],
    });
    const histogram = body.approvalWaits.histogram;
    expect(histogram.reduce((sum, bin) => sum + bin.count, 0)).toBe(2);
    for (const wait of waits) {
      const bin = histogram.findIndex((each) => each.upToMs === null || wait < each.upToMs);
      expect(histogram[bin]?.count).toBeGreaterThanOrEqual(1);
    }
    expect(histogram.at(-1)?.upToMs).toBeNull();
  });

  it('says nothing happened in a window before the traffic', async () => {
    // a 1 ms window ending now holds none of the calls sent before the test started
    const body = await dashboard(fixture.serveUrl, '?window=1ms&buckets=1');
    expect(body.decisions.totals).toEqual({ allow: 0, deny: 0, approve: 0 });
    expect(body.topDenied).toEqual([]);
    expect(body.approvalWaits.count).toBe(0);
    expect(body.approvalWaits.p50Ms).toBeUndefined();
  });

  it('reports upstream health from the process that has it, and says when none was reported', async () => {
    const withOps = await dashboard(fixture.opsUrl, '?window=1h');
    expect(withOps.upstreams).toEqual({ reported: true, items: UPSTREAMS });
    // the same log, read by the other control plane
    expect(withOps.decisions.totals).toEqual({
      allow: TRAFFIC.allow,
      deny: TRAFFIC.deny,
      approve: TRAFFIC.approve,
    });
    const without = await dashboard(fixture.serveUrl, '?window=1h');
    // `reins serve` hands the control plane its process's health once the cli wires OpsStatus in
    if (!without.upstreams.reported) expect(without.upstreams.items).toEqual([]);
  });

  it('refuses bad parameters with a clear 400', async () => {
    for (const [query, field] of [
      ['?window=banana', 'window'],
      ['?window=32d', 'window'],
      ['?window=0s', 'window'],
      ['?buckets=0', 'buckets'],
      ['?buckets=201', 'buckets'],
      ['?buckets=2.5', 'buckets'],
    ] as const) {
      const response = await get(fixture.serveUrl, `/v1/dashboard${query}`);
      expect(response.status, query).toBe(400);
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('invalid_input');
      expect(body.error.message).toContain(`\`${field}\``);
    }
    const defaults = await dashboard(fixture.serveUrl);
    expect(defaults.window.durationMs).toBe(24 * 3_600_000);
    expect(defaults.decisions.buckets).toHaveLength(48);
  });

  it('is for signed-in humans: no token is 401, an agent credential is refused', async () => {
    const anonymous = await fetch(`${fixture.serveUrl}/v1/dashboard`);
    expect(anonymous.status).toBe(401);
    const agent = await get(fixture.serveUrl, '/v1/dashboard', await fixture.console.agentToken('peek'));
    expect(agent.status).toBe(403);
  });

  it('is in the OpenAPI document', async () => {
    const response = await fetch(`${fixture.serveUrl}/v1/openapi.json`);
    const document = (await response.json()) as {
      paths: Record<string, { get?: { parameters?: { name: string }[] } }>;
    };
    const route = document.paths['/v1/dashboard']?.get;
    expect(route?.parameters?.map((parameter) => parameter.name).sort()).toEqual(['buckets', 'window']);
  });
});
