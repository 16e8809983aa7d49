/**
 * @module test/console-dashboard-browser.test
 * The console's dashboard (`#/dashboard`, issue 17) in real Chromium, against the dashboard fixture's
 * real deployment (traffic through the real gateway) and its control plane that reports upstream
 * health: a viewer signs in and sees the decisions over time as stacked bars whose counts are the
 * traffic's, the top denied tools with a name made of HTML shown as text (no element, no script run),
 * the approval wait histogram with its p50/p90, and a down upstream marked down; the page redraws
 * itself while open (a new denial appears without a reload); a process that
 * reports no health says so. Charts are SVG with accessible names, each with its numbers in a table.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/console-fixture.js';
import {
  type DashboardFixture,
  HTML_TOOL,
  startDashboardFixture,
  TRAFFIC,
  UPSTREAMS,
} from './support/dashboard-fixture.js';

let fixture: DashboardFixture;
let browser: Browser;

beforeAll(async () => {
  fixture = await startDashboardFixture();
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await fixture?.close();
});

async function openDashboard(base: string): Promise<{ page: Page; alerts: string[]; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(10_000);
  const alerts: string[] = [];
  // what the browser refuses under the CSP (an inline style, a script) it reports as a console error
  const errors: string[] = [];
  // (a failed request is not one: /v1/me answers 401 before sign-in, there is no favicon)
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
      errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('dialog', (dialog) => {
    alerts.push(dialog.message());
    dialog.dismiss().catch(() => {});
  });
  await page.goto(`${base}/`);
  await page.getByLabel('API token').fill(fixture.console.tokens.viewer);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('link', { name: 'Dashboard' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  await page.getByTestId('chart-decisions').waitFor();
  return { page, alerts, errors };
}

/** The numbers a chart's bars carry (`data-*` attributes), summed by attribute. */
async function barTotals(page: Page, chart: string, attributes: readonly string[]) {
  return page.getByTestId(chart).evaluate((element, names) => {
    const totals: Record<string, number> = {};
    for (const name of names) totals[name] = 0;
    for (const bar of element.querySelectorAll('[data-bar]'))
      for (const name of names)
        totals[name] = (totals[name] ?? 0) + Number(bar.getAttribute(`data-${name}`) ?? 0);
    return totals;
  }, attributes);
}

describe('the dashboard in Chromium', () => {
  it('draws decisions over time as stacked bars whose counts are the traffic', async () => {
    const { page, errors } = await openDashboard(fixture.opsUrl);
    const chart = page.getByTestId('chart-decisions');
    expect(await chart.locator('svg').getAttribute('role')).toBe('img');
    const label = await chart.locator('svg').getAttribute('aria-label');
    expect(label).toContain(`${TRAFFIC.allow} allowed`);
    expect(label).toContain(`${TRAFFIC.deny} denied`);
    expect(label).toContain(`${TRAFFIC.approve} held`);
    expect(await barTotals(page, 'chart-decisions', ['allow', 'deny', 'approve'])).toEqual({
      allow: TRAFFIC.allow,
      deny: TRAFFIC.deny,
      approve: TRAFFIC.approve,
    });
    // drawn: rectangles with a height for each effect that happened
    const heights = await chart
      .locator('rect[data-effect]')
      .evaluateAll((rects) => rects.map((rect) => Number(rect.getAttribute('height'))));
    expect(heights.filter((height) => height > 0).length).toBeGreaterThanOrEqual(3);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('lists the top denied tools, an HTML tool name as text', async () => {
    const { page, alerts } = await openDashboard(fixture.opsUrl);
    const chart = page.getByTestId('chart-denied');
    const bars = await chart.locator('[data-bar]').evaluateAll((elements) =>
      elements.map((element) => ({
        tool: element.getAttribute('data-tool'),
        count: Number(element.getAttribute('data-count')),
      })),
    );
    expect(bars).toEqual(TRAFFIC.topDenied);
    // the name is text in the SVG label and in the table, never an element
    const label = chart.locator('svg text.label').filter({ hasText: `scripted/${HTML_TOOL}` });
    expect(await label.textContent()).toBe(`scripted/${HTML_TOOL}`);
    expect(await page.locator('main img').count()).toBe(0);
    expect(alerts).toEqual([]);
    const cell = chart.locator('table td', { hasText: HTML_TOOL });
    expect(await cell.first().textContent()).toContain(HTML_TOOL);
    await page.close();
  });

  it('shows approval waits as a histogram with p50 and p90', async () => {
    const { page } = await openDashboard(fixture.opsUrl);
    const chart = page.getByTestId('chart-waits');
    const summary = await chart.getByTestId('waits-summary').textContent();
    expect(summary).toMatch(/2 held calls decided/);
    expect(summary).toMatch(/p50 [\d.]+ ?(ms|s|min|h)/);
    expect(summary).toMatch(/p90 [\d.]+ ?(ms|s|min|h)/);
    expect((await barTotals(page, 'chart-waits', ['count'])).count).toBe(2);
    await page.close();
  });

  it('marks a down upstream down, its error as text', async () => {
    const { page, alerts } = await openDashboard(fixture.opsUrl);
    const health = page.getByTestId('upstream-health');
    const rows = await health.locator('[data-upstream]').evaluateAll((elements) =>
      elements.map((element) => ({
        name: element.getAttribute('data-upstream'),
        connected: element.getAttribute('data-connected'),
        text: element.textContent,
      })),
    );
    expect(rows.map((row) => [row.name, row.connected])).toEqual(
      UPSTREAMS.map((upstream) => [upstream.name, String(upstream.connected)]),
    );
    expect(rows[1]?.text).toContain('down');
    expect(rows[1]?.text).toContain('<b>boom</b>');
    expect(rows[0]?.text).toContain('up');
    expect(await health.locator('b').count()).toBe(0);
    expect(alerts).toEqual([]);
    await page.close();
  });

  it('redraws itself while open: a new denial appears without a reload', async () => {
    const { page } = await openDashboard(fixture.opsUrl);
    const before = (await barTotals(page, 'chart-decisions', ['deny'])).deny ?? 0;
    const agent = await fixture.console.mcp(await fixture.console.agentToken('dashboard-later'));
    await agent.callTool({ name: 'everything__get-env', arguments: {} });
    // the page refreshes on its own (every 15 s); nothing here reloads or navigates
    await expect
      .poll(async () => (await barTotals(page, 'chart-decisions', ['deny'])).deny, {
        timeout: 40_000,
        interval: 500,
      })
      .toBe(before + 1);
    await page.close();
  }, 60_000);

  it('says when the process reports no upstream health', async () => {
    // this control plane of the fixture is handed no OpsStatus
    const { page } = await openDashboard(fixture.serveUrl);
    const health = page.getByTestId('upstream-health');
    const reported = await page.evaluate(async () => {
      const response = await fetch('/v1/dashboard?window=1h');
      return ((await response.json()) as { upstreams: { reported: boolean } }).upstreams.reported;
    });
    if (!reported) await health.getByText('not reported by this process').waitFor();
    else expect(await health.locator('[data-upstream]').count()).toBeGreaterThan(0);
    await page.close();
  });
});
