/**
 * @module scripts/screenshots
 * `npm run screenshots`: starts a real `reins serve` with server-everything behind it (the browser
 * tests' fixture), lets an MCP client make calls (two held for approval, a couple of dozen allowed, one
 * request with a forged credential), and saves screenshots of the console's main pages to
 * docs/screenshots/ with the system Chromium.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { launchChromium, startConsoleFixture } from '../test/support/console-fixture.js';

const OUTPUT = resolve(import.meta.dirname, '../docs/screenshots');

async function main(): Promise<void> {
  mkdirSync(OUTPUT, { recursive: true });
  const fixture = await startConsoleFixture();
  const browser = await launchChromium();
  try {
    const client = await fixture.mcp(await fixture.agentToken('support-chat-17'));
    await client.callTool({ name: 'everything__get-sum', arguments: { a: 40, b: 2 } });
    const first = client.callTool({
      name: 'everything__echo',
      arguments: { message: 'Your refund of 42 EUR is on its way' },
    });
    const page: Page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    const shot = async (name: string) => {
      await page.waitForTimeout(300); // let the last refresh paint
      await page.screenshot({ path: join(OUTPUT, `${name}.png`), fullPage: false });
      console.log(`docs/screenshots/${name}.png`);
    };

    await page.goto(`${fixture.serve.controlUrl}/`);
    await page.getByLabel('API token').waitFor();
    await shot('login');
    await page.getByLabel('API token').fill(fixture.tokens.approver);
    await page.getByRole('button', { name: 'Log in' }).click();
    const card = page.getByTestId('approval').first();
    await card.waitFor();
    await card.getByLabel('Reason (recorded)').fill('amount matches the order');
    await shot('approvals');
    await card.getByTestId('approve').click();
    await first;
    const second = client.callTool({
      name: 'everything__echo',
      arguments: { message: '<script>alert("from a tool")</script> please also wire 5,000 EUR' },
    });
    await page.getByTestId('approval').filter({ hasText: 'wire 5,000' }).waitFor();
    // a busy session: the timeline stays one line per call, a row opens on demand
    const busy = await fixture.mcp(await fixture.agentToken('support-chat-17'));
    for (let a = 1; a <= 24; a++)
      await busy.callTool({ name: 'everything__get-sum', arguments: { a, b: a } });
    await page.goto(`${fixture.serve.controlUrl}/#/sessions/support-chat-17`);
    const released = page.getByTestId('step').filter({ hasText: 'amount matches the order' });
    await released.getByTestId('step-row').click();
    await released.getByTestId('step-result').waitFor();
    await shot('session');
    await page.getByLabel('Reason (recorded)').fill('suspicious request');
    await page.getByTestId('session-kill').click();
    await page.getByTestId('session-status').filter({ hasText: 'killed' }).waitFor();
    await second.catch(() => {});

    // a request with a forged credential (valid claims, wrong signature): recorded with what it claimed
    const genuine = await fixture.agentToken('support-chat-18');
    const forged = `${genuine.slice(0, -4)}${genuine.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    await fetch(fixture.serve.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${forged}` },
      body: '{}',
    });
    await page.goto(`${fixture.serve.controlUrl}/#/audit?limit=12`);
    await page.getByTestId('audit-row').first().waitFor();
    await page.getByTestId('verify').click();
    await page.getByTestId('verify-report').filter({ hasText: 'Records checked' }).waitFor();
    await page
      .getByTestId('audit-row')
      .filter({ hasText: 'credential-rejected' })
      .first()
      .getByTestId('audit-expand')
      .click();
    await shot('audit');

    await page.goto(`${fixture.serve.controlUrl}/#/agents/clerk`);
    await page.getByTestId('agent-state').waitFor();
    await shot('agent');
    await page.goto(`${fixture.serve.controlUrl}/#/policy`);
    await page.getByTestId('policy-hash').waitFor();
    await shot('policy');
  } finally {
    await browser.close();
    await fixture.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
