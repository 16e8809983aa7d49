/**
 * @module test/console-layout.test
 * Layout and wording of the web console, in real Chromium against a real `reins serve` (the browser
 * tests' fixture, server-everything behind it, the official MCP SDK client making the calls):
 * the navigation is hidden until signed in; a long session is a compact timeline whose rows open on
 * demand (click or keyboard) and stay open across live refreshes; an expanded audit record spans the
 * table; counts are in the singular or plural as they should be; a refused credential's agent is shown
 * as claimed, not as who acted. (Newest-first audit paging is in console-browser.test.)
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleFixture, launchChromium, startConsoleFixture } from './support/console-fixture.js';

const VIEWPORT = { width: 1280, height: 800 };

let fixture: ConsoleFixture;
let browser: Browser;

beforeAll(async () => {
  fixture = await startConsoleFixture();
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await fixture?.close();
});

/** The control that opens an audit record (whatever its wording, it says `record`). */
const RECORD_TOGGLE = /^(show )?record$/i;

async function newPage(): Promise<Page> {
  const page = await browser.newPage({ viewport: VIEWPORT });
  page.setDefaultTimeout(10_000); // a missing element fails its step, not the whole test's time budget
  return page;
}

async function logIn(token: string): Promise<Page> {
  const page = await newPage();
  await page.goto(`${fixture.serve.controlUrl}/`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: /Approvals inbox/ }).waitFor();
  return page;
}

/** Makes `count` allowed calls (get-sum: a, 1) in `sessionId`. */
async function sums(sessionId: string, count: number, from = 0): Promise<void> {
  const client = await fixture.mcp(await fixture.agentToken(sessionId));
  for (let a = from; a < from + count; a++)
    await client.callTool({ name: 'everything__get-sum', arguments: { a, b: 1 } });
}

describe('console layout in Chromium', () => {
  it('hides the navigation until signed in', async () => {
    const page = await newPage();
    await page.goto(`${fixture.serve.controlUrl}/`);
    await page.getByLabel('API token').waitFor();
    expect(await page.locator('#nav').isVisible()).toBe(false);
    expect(await page.getByRole('link', { name: 'Audit' }).isVisible()).toBe(false);
    expect(await page.locator('#logout').isVisible()).toBe(false);
    await page.getByLabel('API token').fill(fixture.tokens.viewer);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('link', { name: 'Audit' }).waitFor();
    expect(await page.locator('#nav').isVisible()).toBe(true);
    await page.locator('#logout').click();
    await page.getByLabel('API token').waitFor();
    expect(await page.locator('#nav').isVisible()).toBe(false);
    await page.close();
  });

  it('shows a long session as a compact timeline whose rows open on demand', async () => {
    await sums('long-session', 27);
    const page = await logIn(fixture.tokens.viewer);
    await page.goto(`${fixture.serve.controlUrl}/#/sessions/long-session`);
    const steps = page.getByTestId('step');
    await expect.poll(() => steps.count()).toBe(27);

    // one line per call: bounded by the number of rows, not by the size of what the calls carried
    // (expressions as strings: the tests are type-checked without the DOM library)
    const height = await page.evaluate<number>('document.documentElement.scrollHeight');
    expect(height).toBeLessThan(400 + 27 * 48);
    expect(await page.getByTestId('step-args').count()).toBe(0); // nothing is expanded yet
    const third = steps.nth(2);
    const row = await third.getByTestId('step-row').textContent();
    for (const part of ['everything/get-sum', 'allow', 'ok', 'arithmetic is harmless'])
      expect(row).toContain(part);

    // a click opens a row and shows its details, another closes it
    await third.getByTestId('step-row').click();
    expect(JSON.parse((await third.getByTestId('step-args').textContent()) ?? '')).toEqual({ a: 2, b: 1 });
    expect(await third.getByTestId('step-result').textContent()).toContain('3');
    await third.getByTestId('step-row').click();
    await expect.poll(() => third.getByTestId('step-args').isVisible()).toBe(false);

    // so does the keyboard, and an opened row stays open (and focused) when the timeline refreshes
    const fifth = steps.nth(4);
    const fifthKey = await fifth.getByTestId('step-row').getAttribute('data-key');
    await fifth.getByTestId('step-row').focus();
    await page.keyboard.press('Enter');
    expect(JSON.parse((await fifth.getByTestId('step-args').textContent()) ?? '')).toEqual({ a: 4, b: 1 });
    await sums('long-session', 1, 27);
    await expect.poll(() => steps.count(), { timeout: 10_000 }).toBe(28);
    expect(await fifth.getByTestId('step-args').isVisible()).toBe(true);
    expect(await page.getByTestId('step-args').count()).toBe(1);
    expect(fifthKey).toBeTruthy();
    expect(await page.evaluate<string | undefined>('document.activeElement?.dataset.key')).toBe(fifthKey);
    await page.close();
  });

  it('gives an expanded audit record the width of the table', async () => {
    await sums('wide-one', 1);
    const page = await logIn(fixture.tokens.viewer);
    await page.goto(`${fixture.serve.controlUrl}/#/audit?sessionId=wide-one`);
    const row = page.getByTestId('audit-row').first();
    await row.getByText(RECORD_TOGGLE).click();
    const record = page.locator('pre').filter({ hasText: '"decisionId"' }).first();
    await record.waitFor();
    const box = await record.boundingBox();
    expect(box?.width).toBeGreaterThan(VIEWPORT.width * 0.6);
    await page.close();
  });

  it('counts in the singular and the plural', async () => {
    await sums('one-call', 1);
    const page = await logIn(fixture.tokens.viewer);
    await page.goto(`${fixture.serve.controlUrl}/#/policy`);
    await page.getByTestId('policy-hash').waitFor();
    const main = page.locator('#main');
    // the fixture's policy: one document, two rules, two catalogued tools
    expect(await main.textContent()).toContain('2 rules (0 shadow) in 1 document; 2 catalogued tools');
    await page.goto(`${fixture.serve.controlUrl}/#/sessions/one-call`);
    await page.getByTestId('step').first().waitFor();
    const heading = await page.getByRole('heading', { name: /Timeline/ }).textContent();
    expect(heading).toMatch(/\b1 call\b/);
    await page.close();
  });

  it("labels a refused credential's agent and session as claimed, not verified", async () => {
    const valid = await fixture.agentToken('forged-session');
    const forged = `${valid.slice(0, -4)}${valid.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    const refused = await fetch(fixture.serve.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${forged}` },
      body: '{}',
    });
    expect(refused.status).toBe(401);

    const page = await logIn(fixture.tokens.viewer);
    // filtering by agent finds what a refused token claimed: it must not read as the agent's own record
    await page.goto(`${fixture.serve.controlUrl}/#/audit?agentId=clerk&kind=credential-rejected`);
    const row = page.getByTestId('audit-row').first();
    await row.waitFor();
    const cells = row.locator('td');
    expect(await cells.nth(3).textContent()).toMatch(/^clerk.*claimed, unverified/); // the Agent column
    expect(await cells.nth(4).textContent()).toMatch(/^forged-session.*claimed, unverified/);
    // the expanded record says so too, in words and not only in its field names
    await row.getByText(RECORD_TOGGLE).click();
    await page.getByText(/the token claimed\. It did not verify/).waitFor();
    await page.close();
  });
});
