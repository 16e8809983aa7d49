/**
 * @module test/console-monitor-browser.test
 * The runtime monitor's findings in the console (issue 19), against a real deployment whose monitor
 * paused a session (the monitor fixture: calls through the real gateway, the policy's `monitor:`
 * rules): `GET /v1/monitor/findings` lists the findings newest first with the call that raised them
 * and says how far back it read (bounded by `scan`); the Monitor page in real Chromium lists them
 * and leads to the session, whose page shows it paused by `reins:monitor` and, on the calls that
 * raised them, each finding's rule, action, observed value against the bound, baseline and the calls
 * counted.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/console-fixture.js';
import { BURST, get, type MonitorFixture, startMonitorFixture } from './support/monitor-fixture.js';

let fixture: MonitorFixture;
let browser: Browser;

beforeAll(async () => {
  fixture = await startMonitorFixture();
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await fixture?.close();
});

interface FindingsBody {
  findings: {
    sessionId: string;
    agentId: string;
    tool: string;
    effect: string;
    decisionId: string;
    finding: { rule: string; action: string; observed: number; threshold: number; records: string[] };
  }[];
  scan: { intents: number; maxIntents: number; stopped: string };
}

describe('GET /v1/monitor/findings', () => {
  it('lists the findings newest first, with the call that raised them and the calls counted', async () => {
    const body = await get<FindingsBody>(fixture.console, '/v1/monitor/findings');
    expect(body.findings.map((item) => [item.finding.rule, item.finding.action, item.effect])).toEqual([
      ['mass-replies', 'pause', 'deny'],
      ['bulk-lookups', 'alert', 'allow'],
    ]);
    const [pause] = body.findings;
    expect(pause).toMatchObject({
      sessionId: BURST.sessionId,
      agentId: 'clerk',
      tool: 'everything/echo',
      decisionId: fixture.replies.at(-1),
      finding: { observed: 3, threshold: 2, records: fixture.replies },
    });
    expect(body.scan).toEqual({
      intents: BURST.sums + BURST.replies,
      maxIntents: 10_000,
      stopped: 'end-of-log',
    });
  });

  it('reads at most `scan` intents and says where it stopped', async () => {
    const bounded = await get<FindingsBody>(fixture.console, '/v1/monitor/findings?scan=1');
    expect(bounded.scan).toEqual({ intents: 1, maxIntents: 1, stopped: 'scan-bound' });
    expect(bounded.findings.map((item) => item.finding.rule)).toEqual(['mass-replies']);
    const limited = await get<FindingsBody>(fixture.console, '/v1/monitor/findings?limit=1');
    expect(limited.scan.stopped).toBe('finding-limit');
    expect(limited.findings).toHaveLength(1);
    const other = await get<FindingsBody>(fixture.console, '/v1/monitor/findings?agentId=someone-else');
    expect(other.findings).toEqual([]);
  });

  it('is for signed-in users, validates its query and is in the OpenAPI document', async () => {
    const base = fixture.console.serve.controlUrl;
    expect((await fetch(`${base}/v1/monitor/findings`)).status).toBe(401);
    const viewer = { authorization: `Bearer ${fixture.console.tokens.viewer}` };
    expect((await fetch(`${base}/v1/monitor/findings`, { headers: viewer })).status).toBe(200);
    expect((await fetch(`${base}/v1/monitor/findings?scan=0`, { headers: viewer })).status).toBe(400);
    const document = (await (await fetch(`${base}/v1/openapi.json`)).json()) as { paths: object };
    expect(Object.keys(document.paths)).toContain('/v1/monitor/findings');
  });
});

async function signIn(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(10_000);
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
      errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${fixture.console.serve.controlUrl}/`);
  await page.getByLabel('API token').fill(fixture.console.tokens.viewer);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: /Approvals inbox/ }).waitFor();
  return { page, errors };
}

describe('the Monitor page and the session page in Chromium', () => {
  it('lists the findings newest first and leads to the paused session', async () => {
    const { page, errors } = await signIn();
    await page.getByRole('link', { name: 'Monitor' }).click();
    await page.getByRole('heading', { name: 'Monitor' }).waitFor();
    const rows = page.getByTestId('monitor-finding');
    await rows.first().waitFor();
    expect(await rows.getByTestId('finding-rule').allTextContents()).toEqual([
      'mass-replies (rate)',
      'bulk-lookups (rate)',
    ]);
    expect(await rows.getByTestId('finding-action').allTextContents()).toEqual(['pause', 'alert']);
    expect(await rows.first().getByTestId('finding-observed').textContent()).toBe('3 in 5m, above 2');
    expect(await rows.first().textContent()).toContain('no baseline yet');
    expect(await page.getByTestId('monitor-scan').textContent()).toContain('the whole log');

    await rows.first().getByTestId('finding-session').click();
    await page.getByTestId('session-id').filter({ hasText: BURST.sessionId }).waitFor();
    await page.getByTestId('session-status').filter({ hasText: 'paused' }).waitFor();
    expect(await page.locator('main').textContent()).toContain('reins:monitor');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows each finding on the call that raised it, with its evidence', async () => {
    const { page, errors } = await signIn();
    await page.goto(`${fixture.console.serve.controlUrl}/#/sessions/${BURST.sessionId}`);
    await page.getByTestId('timeline').waitFor();
    // visible without opening a row: one line on each of the two calls that raised a finding
    const lines = page.getByTestId('step-monitor');
    expect(await lines.count()).toBe(2);
    expect(await lines.nth(0).textContent()).toContain('bulk-lookups');
    expect(await lines.nth(0).textContent()).toContain('4 in 1m, above 3');
    expect(await lines.nth(1).textContent()).toContain('mass-replies');
    expect(await lines.nth(1).isVisible()).toBe(true);

    const paused = page.getByTestId('step').filter({ hasText: 'monitor rule mass-replies' });
    await paused.getByTestId('step-row').click();
    const finding = paused.getByTestId('step-finding');
    await finding.waitFor();
    const text = (await finding.textContent()) ?? '';
    expect(text).toContain('mass-replies (rate)');
    expect(text).toContain('pause');
    expect(text).toContain('3 in 5m, above 2');
    expect(text).toContain('no baseline yet');
    expect(text).toContain(`3 calls: ${fixture.replies.join(', ')}`);
    expect(text).toContain('messages sent in a burst');
    expect(errors).toEqual([]);
    await page.close();
  });
});
