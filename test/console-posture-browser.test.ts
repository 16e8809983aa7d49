/**
 * @module test/console-posture-browser.test
 * The posture page (issue 19) against a real `reins serve` (the console fixture, with a held call a
 * human approved on record): `GET /v1/posture` answers the same score as `reins posture` computes
 * from the same configuration and store, for the deployment and per agent (`?agent=`, an unknown
 * agent 404), for viewers only; in real Chromium the page shows the score N/25 of the deployment and
 * of each agent per primitive, every criterion's evidence, and the fixes with the points they gain.
 */
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postureOfConfig } from '../src/cli/posture-command.js';
import type { PostureReport, ScopeScore } from '../src/inspect/posture-model.js';
import { type ConsoleFixture, launchChromium, startConsoleFixture } from './support/console-fixture.js';
import { get } from './support/monitor-fixture.js';

let fixture: ConsoleFixture;
let browser: Browser;

beforeAll(async () => {
  fixture = await startConsoleFixture();
  // a held call a human approved: evidence for `approval.exercised`
  const agent = await fixture.mcp(await fixture.agentToken('support-chat-7'));
  await agent.callTool({ name: 'everything__get-sum', arguments: { a: 40, b: 2 } });
  const held = agent.callTool({ name: 'everything__echo', arguments: { message: 'refund sent' } });
  let pending: { id: string }[] = [];
  while (pending.length === 0) {
    pending = await fixture.pendingApprovals();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const vote = await fetch(`${fixture.serve.controlUrl}/v1/approvals/${pending[0]?.id}/approve`, {
    method: 'POST',
    headers: { authorization: `Bearer ${fixture.tokens.approver}`, 'content-type': 'application/json' },
    body: JSON.stringify({ reason: 'matches the order' }),
  });
  expect(vote.status).toBe(200);
  await held;
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await fixture?.close();
});

/** What a score is made of, without the time it was computed. */
function points(scope: ScopeScore) {
  return {
    scope: scope.scope,
    score: scope.score,
    criteria: scope.primitives.flatMap((primitive) =>
      primitive.criteria.map((criterion) => [criterion.id, criterion.points, criterion.fix?.gain]),
    ),
  };
}

describe('GET /v1/posture', () => {
  it('answers the score `reins posture` computes for the same deployment', async () => {
    const served = await get<PostureReport>(fixture, '/v1/posture');
    const cli = await postureOfConfig(join(fixture.directory, 'reins.yaml'));
    expect(served.deployment.max).toBe(25);
    expect(points(served.deployment)).toEqual(points(cli.deployment));
    expect(served.agents.map(points)).toEqual(cli.agents.map(points));
    expect(served.agents.map((agent) => agent.scope)).toEqual([{ kind: 'agent', agentId: 'clerk' }]);
    const exercised = served.deployment.primitives
      .flatMap((primitive) => primitive.criteria)
      .find((criterion) => criterion.id === 'approval.exercised');
    expect(exercised?.points).toBe(1);
  });

  it('scores one agent with `?agent=`, refuses an unknown one, and is for signed-in users', async () => {
    const one = await get<PostureReport>(fixture, '/v1/posture?agent=clerk');
    expect(one.agents).toHaveLength(1);
    const base = fixture.serve.controlUrl;
    const viewer = { authorization: `Bearer ${fixture.tokens.viewer}` };
    const unknown = await fetch(`${base}/v1/posture?agent=nobody`, { headers: viewer });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('not_found');
    expect((await fetch(`${base}/v1/posture`)).status).toBe(401);
    const document = (await (await fetch(`${base}/v1/openapi.json`)).json()) as { paths: object };
    expect(Object.keys(document.paths)).toContain('/v1/posture');
  });
});

async function openPosture(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(10_000);
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
      errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${fixture.serve.controlUrl}/`);
  await page.getByLabel('API token').fill(fixture.tokens.viewer);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('link', { name: 'Posture' }).click();
  await page.getByTestId('posture-score').waitFor();
  return { page, errors };
}

describe('the posture page in Chromium', () => {
  it('shows the score N/25 of the deployment and of each agent, per primitive', async () => {
    const report = await get<PostureReport>(fixture, '/v1/posture');
    const { page, errors } = await openPosture();
    expect(await page.getByTestId('posture-score').textContent()).toBe(`${report.deployment.score}/25`);
    const rows = page.getByTestId('posture-scope');
    expect(await rows.count()).toBe(2);
    expect(await rows.getByTestId('scope-score').allTextContents()).toEqual([
      `${report.deployment.score}/25`,
      `${report.agents[0]?.score}/25`,
    ]);
    const cells = await rows.nth(1).locator('td').allTextContents();
    expect(cells.slice(2)).toEqual(report.agents[0]?.primitives.map((primitive) => `${primitive.points}/5`));
    expect(cells[0]).toBe('Agent clerk');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('lists every criterion with its evidence, and the fixes with the points they gain', async () => {
    const report = await get<PostureReport>(fixture, '/v1/posture');
    const { page } = await openPosture();
    const deployment = page.getByTestId('posture-detail').first();
    expect(await deployment.getByTestId('posture-criterion').count()).toBe(25);
    const criteria = report.deployment.primitives.flatMap((primitive) => primitive.criteria);
    const first = criteria[0];
    const item = deployment.getByTestId('posture-criterion').first();
    for (const line of first?.evidence ?? []) expect(await item.textContent()).toContain(line);
    const missing = criteria.filter((criterion) => criterion.fix !== undefined);
    expect(await deployment.getByTestId('criterion-fix').count()).toBe(missing.length);
    const fixes = await page.getByTestId('posture-fix').allTextContents();
    expect(fixes).toHaveLength(missing.length);
    // each fix with the points it gains, the most first
    const expected = missing.map(
      (criterion) => `+${criterion.fix?.gain} ${criterion.fix?.text} (${criterion.id})`,
    );
    expect([...fixes].sort()).toEqual([...expected].sort());
    const gains = fixes.map((text) => Number(/^\+(\d+)/.exec(text)?.[1]));
    expect(gains).toEqual([...gains].sort((a, b) => b - a));
    await page.close();
  });

  it('scores one agent when it is chosen', async () => {
    const { page } = await openPosture();
    await page.getByRole('button', { name: 'Agent clerk' }).click();
    await page.getByRole('button', { name: 'Show every agent' }).waitFor();
    expect(page.url()).toContain('#/posture?agent=clerk');
    expect(await page.getByTestId('posture-scope').count()).toBe(2);
    await page.close();
  });
});
