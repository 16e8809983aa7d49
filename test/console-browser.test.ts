/**
 * @module test/console-browser.test
 * The web console in real Chromium against a real `reins serve` (in-process), with an MCP client
 * (official SDK) calling server-everything through the gateway:
 * (a) a held call appears in the approver's inbox with its exact arguments and why it was held; the
 *     approver approves it in the browser and the waiting MCP call completes; the approver then kills
 *     the session in the browser and the session's next call is denied;
 * (b) agent-supplied `<script>`, event-handler and `javascript:` content in arguments and results is
 *     shown as literal text: no script runs, no dialog opens, nothing becomes a link.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleFixture, launchChromium, startConsoleFixture } from './support/console-fixture.js';
import { textOf as text } from './support/tool-result-text.js';

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

async function logIn(token: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${fixture.serve.controlUrl}/`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: /Approvals inbox/ }).waitFor();
  return page;
}

describe('console in Chromium', () => {
  it('approves a held MCP call from the inbox, then kills the session from the console', async () => {
    const sessionId = 'support-chat-17';
    const client = await fixture.mcp(await fixture.agentToken(sessionId));
    const held = client.callTool({ name: 'everything__echo', arguments: { message: 'refund order 1234' } });
    let settled = false;
    void held.finally(() => {
      settled = true;
    });

    const page = await logIn(fixture.tokens.approver);
    const card = page.getByTestId('approval').filter({ hasText: 'refund order 1234' });
    await card.waitFor(); // arrives live (events or polling), no reload
    await expect(card.getByTestId('approval-tool').textContent()).resolves.toBe('everything/echo');
    await expect(card.getByTestId('approval-agent').textContent()).resolves.toBe('clerk');
    await expect(card.getByTestId('approval-session').textContent()).resolves.toBe(sessionId);
    await expect(card.getByTestId('approval-reasons').textContent()).resolves.toContain(
      'messages leave the building',
    );
    expect(JSON.parse((await card.getByTestId('approval-args').textContent()) ?? '')).toEqual({
      message: 'refund order 1234',
    });
    expect(settled).toBe(false); // still waiting for a human

    await card.getByLabel('Reason (recorded)').fill('customer verified by phone');
    await card.getByTestId('approve').click();
    const result = (await held) as CallToolResult;
    expect(result.isError).toBeFalsy();
    expect(text(result)).toContain('refund order 1234');

    // the session view shows the approved step with who approved it, updating without reload
    await page.getByRole('link', { name: 'Sessions' }).click();
    await page.getByTestId('session-row').filter({ hasText: sessionId }).getByTestId('open-session').click();
    const step = page.getByTestId('step').filter({ hasText: 'everything/echo' });
    await step.filter({ hasText: 'customer verified by phone' }).waitFor(); // in the row itself
    await step.getByTestId('step-row').click(); // the details open on demand
    await expect(step.getByTestId('step-result').textContent()).resolves.toContain('refund order 1234');

    // a second call waits for approval when the session is killed: it is refused at once
    const heldAtKill = client.callTool({
      name: 'everything__echo',
      arguments: { message: 'refund order 1234 again' },
    });
    await expect.poll(async () => (await fixture.pendingApprovals()).length, { timeout: 10_000 }).toBe(1);
    await page.getByLabel('Reason (recorded)').fill('agent looping on refunds');
    await page.getByTestId('session-kill').click();
    await page.getByTestId('session-status').filter({ hasText: 'killed' }).waitFor();

    const refused = (await heldAtKill) as CallToolResult;
    expect(refused.isError).toBe(true);
    expect(text(refused)).toContain('killed');

    const after = (await client.callTool({
      name: 'everything__get-sum',
      arguments: { a: 1, b: 2 },
    })) as CallToolResult;
    expect(after.isError).toBe(true);
    expect(text(after)).toContain('killed');
    await page.close();
  });

  it('a viewer sees the inbox but the server refuses their approval', async () => {
    const client = await fixture.mcp(await fixture.agentToken('viewer-check'));
    const held = client.callTool({
      name: 'everything__echo',
      arguments: { message: 'viewer cannot approve' },
    });
    const page = await logIn(fixture.tokens.viewer);
    const card = page.getByTestId('approval').filter({ hasText: 'viewer cannot approve' });
    await card.getByLabel('Reason (recorded)').fill('trying anyway');
    await card.getByTestId('approve').click();
    await page.locator('#notice').filter({ hasText: 'approver' }).waitFor();
    await expect(card.locator('.badge').first().textContent()).resolves.toBe('pending');
    await page.close();

    const approver = await logIn(fixture.tokens.approver);
    const pending = approver.getByTestId('approval').filter({ hasText: 'viewer cannot approve' });
    await pending.getByLabel('Reason (recorded)').fill('not needed');
    await pending.getByTestId('deny').click();
    const result = (await held) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(text(result)).toContain('not needed');
    await approver.close();
  });

  it('shows agent-supplied script and javascript: content as inert text', async () => {
    const payload =
      '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2"><a href="javascript:window.__xss = 3">click</a> javascript:alert(1)';
    const client = await fixture.mcp(await fixture.agentToken('xss-session'));
    const held = client.callTool({ name: 'everything__echo', arguments: { message: payload } });

    const page = await logIn(fixture.tokens.approver);
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    const card = page.getByTestId('approval').filter({ hasText: 'window.__xss = 1' });
    await card.waitFor();
    expect(JSON.parse((await card.getByTestId('approval-args').textContent()) ?? '')).toEqual({
      message: payload,
    });
    await card.getByLabel('Reason (recorded)').fill('testing the console');
    await card.getByTestId('approve').click();
    const result = (await held) as CallToolResult;
    expect(text(result)).toContain(payload); // the tool result carries the payload back

    await page.goto(`${fixture.serve.controlUrl}/#/sessions/xss-session`);
    await page.getByTestId('step-row').first().click();
    const resultBlock = page.getByTestId('step-result');
    await resultBlock.filter({ hasText: 'window.__xss = 2' }).waitFor();
    expect(await resultBlock.textContent()).toContain('<script>window.__xss = 1</script>');
    await page.goto(`${fixture.serve.controlUrl}/#/audit?sessionId=xss-session`);
    await page.getByTestId('audit-row').first().waitFor();
    // expand every record so that the payload is rendered in the audit explorer too
    for (const toggle of await page.getByTestId('audit-expand').all()) await toggle.click();
    await expect.poll(() => page.locator('pre').filter({ hasText: 'onerror=' }).count()).toBeGreaterThan(0);

    expect(await page.evaluate(() => (globalThis as { __xss?: number }).__xss)).toBeUndefined();
    expect(dialogs).toEqual([]);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('a[href^="javascript:"]').count()).toBe(0);
    // the only script is the console's own module
    expect(
      await page.locator('script').evaluateAll((scripts) => scripts.map((s) => s.getAttribute('src'))),
    ).toEqual(['/console/app.js']);
    await page.close();
  });

  it('lists the audit log newest first and pages back stably while records arrive; verifies the chain', async () => {
    const head = async () => {
      const response = await fetch(`${fixture.serve.controlUrl}/v1/audit/verify`, {
        method: 'POST',
        headers: { authorization: `Bearer ${fixture.tokens.viewer}` },
      });
      return ((await response.json()) as { lastSeq: number }).lastSeq;
    };
    const client = await fixture.mcp(await fixture.agentToken('while-paging'));
    for (let a = 0; a < 4; a++)
      await client.callTool({ name: 'everything__get-sum', arguments: { a, b: 1 } });
    const page = await logIn(fixture.tokens.viewer);
    page.setDefaultTimeout(10_000);
    await page.goto(`${fixture.serve.controlUrl}/#/audit?limit=3`);
    const seqs = async () =>
      (await page.getByTestId('audit-row').locator('td:first-child').allTextContents()).map(Number);
    await page.getByTestId('audit-row').first().waitFor();
    const newest = await head();
    expect(newest).toBeGreaterThan(6);
    expect(await seqs()).toEqual([newest, newest - 1, newest - 2]);

    // records arriving meanwhile do not shift the pages: the next one continues below the last row
    await client.callTool({ name: 'everything__get-sum', arguments: { a: 1, b: 1 } });
    expect(await head()).toBeGreaterThan(newest);
    await page.getByTestId('audit-next').click();
    await expect.poll(seqs).toEqual([newest - 3, newest - 4, newest - 5]);
    await page.getByTestId('audit-newest').click();
    const latest = await head();
    await expect.poll(seqs).toEqual([latest, latest - 1, latest - 2]);

    await page.getByTestId('verify').click();
    await page.getByTestId('verify-report').filter({ hasText: 'The chain is intact.' }).waitFor();
    await page.close();
  });

  it('suspends an agent from the console: its credentials stop working at the gateway (kill switch)', async () => {
    const client = await fixture.mcp(await fixture.agentToken('before-suspension'));
    const sum = (await client.callTool({
      name: 'everything__get-sum',
      arguments: { a: 2, b: 3 },
    })) as CallToolResult;
    expect(text(sum)).toContain('5');

    const approver = await logIn(fixture.tokens.approver);
    await approver.goto(`${fixture.serve.controlUrl}/#/agents/clerk`);
    await expect(approver.getByTestId('agent-suspend').isDisabled()).resolves.toBe(true); // admins only
    await approver.close();

    const page = await logIn(fixture.tokens.admin);
    await page.goto(`${fixture.serve.controlUrl}/#/agents/clerk`);
    await page.getByLabel('Reason (recorded)').fill('credentials leaked in a log');
    await page.getByTestId('agent-suspend').click();
    await page.getByTestId('agent-state').filter({ hasText: 'suspended' }).waitFor();
    await page.getByText('credentials leaked in a log').first().waitFor(); // the revocation in force
    await expect(
      client.callTool({ name: 'everything__get-sum', arguments: { a: 2, b: 3 } }),
    ).rejects.toThrow();
    await page.close();
  });
});
