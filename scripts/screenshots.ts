/**
 * @module scripts/screenshots
 * `npm run screenshots`: starts a real `reins serve` with server-everything behind it (the browser
 * tests' fixture), lets an MCP client make calls (two held for approval, a couple of dozen allowed, one
 * request with a forged credential), and saves screenshots of the console's main pages to
 * docs/screenshots/ with the system Chromium; then a second `reins serve` in front of server-filesystem
 * (the rollback tests' fixture), where an agent makes a bad change to a folder and an admin opens the
 * rollback plan of its session; then the dashboard (the dashboard tests' fixture: allowed, denied and
 * held calls, one upstream reported down); then the posture page of the first deployment, and the
 * Monitor page of a deployment whose runtime monitor paused a session (the monitor tests' fixture).
 * `npm run screenshots -- dashboard` (or `posture`, `monitor`) takes only that one.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, startConsoleFixture } from '../test/support/console-fixture.js';
import { startDashboardFixture } from '../test/support/dashboard-fixture.js';
import { startMonitorFixture } from '../test/support/monitor-fixture.js';
import { callOk } from '../test/support/rollback-deployment.js';
import { startRollbackServe } from '../test/support/rollback-serve.js';

const OUTPUT = resolve(import.meta.dirname, '../docs/screenshots');

async function main(): Promise<void> {
  mkdirSync(OUTPUT, { recursive: true });
  const only = { dashboard: dashboardShot, posture: postureShot, monitor: monitorShot }[
    process.argv[2] ?? ''
  ];
  if (only) {
    const browser = await launchChromium();
    await only(browser).finally(() => browser.close());
    return;
  }
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
    await rollbackShot(browser);
    await dashboardShot(browser);
    await postureShot(browser);
    await monitorShot(browser);
  } finally {
    await browser.close();
    await fixture.close();
  }
}

/** The rollback plan of a session that changed a service's configuration (docs/screenshots/rollback.png). */
async function rollbackShot(browser: Browser): Promise<void> {
  const fixture = await startRollbackServe();
  try {
    const service = join(fixture.work, 'checkout-service');
    mkdirSync(service);
    writeFileSync(join(service, 'config.yaml'), 'replicas: 3\nregion: eu-west\n');
    writeFileSync(join(service, 'README.md'), '# Checkout\n\nStable release.\n');
    writeFileSync(join(service, 'notes.txt'), 'rotate the keys on Friday\n');
    const agent = await fixture.connect('deploy-bot-42');
    await callOk(agent, 'fs__read_text_file', { path: join(service, 'config.yaml') });
    await callOk(agent, 'fs__write_file', { path: join(service, 'config.yaml'), content: 'replicas: 0\n' });
    await callOk(agent, 'fs__edit_file', {
      path: join(service, 'README.md'),
      edits: [{ oldText: 'Stable release.', newText: 'Deprecated.' }],
    });
    await callOk(agent, 'fs__move_file', {
      source: join(service, 'notes.txt'),
      destination: join(service, 'old-notes.txt'),
    });
    await callOk(agent, 'fs__create_directory', { path: join(service, 'build/cache') });
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    await page.goto(`${fixture.serve.controlUrl}/`);
    await page.getByLabel('API token').fill(fixture.tokens.admin);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: /Approvals inbox/ }).waitFor();
    await page.goto(`${fixture.serve.controlUrl}/#/sessions/deploy-bot-42`);
    await page.getByRole('button', { name: 'Roll back…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByTestId('plan-call').first().waitFor();
    await dialog.getByLabel('Reason for the rollback (recorded)').fill('the agent scaled checkout to zero');
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(OUTPUT, 'rollback.png'), fullPage: false });
    console.log('docs/screenshots/rollback.png');
  } finally {
    await fixture.close();
  }
}

/** The dashboard of the last hour, one upstream down (docs/screenshots/dashboard.png). */
async function dashboardShot(browser: Browser): Promise<void> {
  const fixture = await startDashboardFixture();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    await page.goto(`${fixture.opsUrl}/`);
    await page.getByLabel('API token').fill(fixture.console.tokens.viewer);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: /Approvals inbox/ }).waitFor();
    await page.goto(`${fixture.opsUrl}/#/dashboard?window=1h`);
    await page.getByTestId('upstream-health').waitFor();
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(OUTPUT, 'dashboard.png'), fullPage: true });
    console.log('docs/screenshots/dashboard.png');
  } finally {
    await fixture.close();
  }
}

/** The posture page of a support deployment with a held call approved (docs/screenshots/posture.png). */
async function postureShot(browser: Browser): Promise<void> {
  const fixture = await startConsoleFixture();
  try {
    const client = await fixture.mcp(await fixture.agentToken('support-chat-17'));
    await client.callTool({ name: 'everything__get-sum', arguments: { a: 40, b: 2 } });
    const held = client.callTool({
      name: 'everything__echo',
      arguments: { message: 'Your refund is on its way' },
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
    await page.goto(`${fixture.serve.controlUrl}/`);
    await page.getByLabel('API token').fill(fixture.tokens.approver);
    await page.getByRole('button', { name: 'Log in' }).click();
    const card = page.getByTestId('approval').first();
    await card.getByLabel('Reason (recorded)').fill('amount matches the order');
    await card.getByTestId('approve').click();
    await held;
    await page.goto(`${fixture.serve.controlUrl}/#/posture`);
    await page.getByTestId('posture-detail').first().waitFor();
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(OUTPUT, 'posture.png'), fullPage: false });
    console.log('docs/screenshots/posture.png');
  } finally {
    await fixture.close();
  }
}

/**
 * The Monitor page after the runtime monitor paused a session that sent replies in a burst, with a
 * second session that only raised an alert (docs/screenshots/monitor-findings.png).
 */
async function monitorShot(browser: Browser): Promise<void> {
  const fixture = await startMonitorFixture();
  try {
    const other = await fixture.console.mcp(await fixture.console.agentToken('support-chat-44'));
    for (let a = 1; a <= 4; a++)
      await other.callTool({ name: 'everything__get-sum', arguments: { a, b: 1 } });
    const page = await browser.newPage({ viewport: { width: 1280, height: 640 } });
    await page.goto(`${fixture.console.serve.controlUrl}/`);
    await page.getByLabel('API token').fill(fixture.console.tokens.viewer);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: /Approvals inbox/ }).waitFor();
    await page.goto(`${fixture.console.serve.controlUrl}/#/monitor`);
    await page.getByTestId('monitor-finding').first().waitFor();
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(OUTPUT, 'monitor-findings.png'), fullPage: false });
    console.log('docs/screenshots/monitor-findings.png');
  } finally {
    await fixture.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
