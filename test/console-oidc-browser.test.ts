/**
 * @module test/console-oidc-browser.test
 * Sign-in with OpenID Connect in real Chromium: a real `reins serve` whose `control.oidc` points at a
 * real provider (oidc-provider, test/support/oidc-idp.ts). The console offers "Sign in with Test IdP"
 * beside the token form; a user in a mapped group signs in at the provider and lands in the console
 * with the mapped roles, on the approvals page; logging out ends the session, at the provider too
 * (RP-initiated logout), also once the Reins session already expired ("Sign out of Test IdP" on the
 * login page). A user whose groups map
 * to no role sees why and gets no session. With `requireMfa`, a login without a second factor is
 * refused and one with it is let in.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/console-fixture.js';
import { type OidcDeployment, startOidcDeployment } from './support/oidc-deployment.js';

let browser: Browser;
let deployment: OidcDeployment;
let mfaDeployment: OidcDeployment;

beforeAll(async () => {
  deployment = await startOidcDeployment();
  mfaDeployment = await startOidcDeployment({ requireMfa: true });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await deployment?.close();
  await mfaDeployment?.close();
});

/** A fresh browser (no cookies) that signs `username` in at the provider from the console's button. */
async function signIn(
  at: OidcDeployment,
  username: string,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(10_000); // a missing button fails in time, not at the test's timeout
  await page.goto(`${at.controlUrl}/`);
  await page.getByRole('button', { name: 'Sign in with Test IdP' }).click();
  await page.waitForURL(`${at.idp.issuer}/**`); // at the provider now
  await page.getByLabel('User name').fill(username);
  await page.getByRole('button', { name: 'Sign in at the IdP' }).click();
  return { context, page };
}

async function meStatus(context: BrowserContext, at: OidcDeployment): Promise<number> {
  return (await context.request.get(`${at.controlUrl}/v1/me`)).status();
}

describe('console sign-in with OpenID Connect', () => {
  it('signs a mapped user in at the provider and back into the console with their roles; logging out ends it', async () => {
    const { context, page } = await signIn(deployment, 'alice');
    await page.getByRole('heading', { name: /Approvals inbox/ }).waitFor();
    expect(new URL(page.url()).origin).toBe(deployment.controlUrl);
    const issuerHost = new URL(deployment.idp.issuer).host;
    await expect(page.locator('#who').textContent()).resolves.toBe(
      `oidc:${issuerHost}:alice (approver, finance-approvers)`,
    );
    expect(await meStatus(context, deployment)).toBe(200);

    // logging out ends the Reins session and, at the provider's sign-out page, the provider's
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${deployment.idp.issuer}/**`);
    expect(await meStatus(context, deployment)).toBe(401);
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await page.getByRole('button', { name: 'Sign in with Test IdP' }).click();
    await page.getByLabel('User name').waitFor(); // asked again: no session left at the provider either
    await context.close();
  });

  it('after the Reins session expired, still ends the provider session, so the next person is asked who they are', async () => {
    // an ID token that expires in 3 s: the console session ends then, the provider's lives on
    deployment.idp.tamperIdToken = (claims) => ({ ...claims, exp: Math.floor(Date.now() / 1000) + 3 });
    let signedIn: { context: BrowserContext; page: Page };
    try {
      signedIn = await signIn(deployment, 'alice');
      await signedIn.page.getByRole('heading', { name: /Approvals inbox/ }).waitFor();
    } finally {
      deployment.idp.tamperIdToken = undefined;
    }
    const { context, page } = signedIn;
    // the console notices (it polls its live views) and shows the login page
    await page.getByTestId('login-error').filter({ hasText: 'Your session ended' }).waitFor();
    expect(await meStatus(context, deployment)).toBe(401);
    await page.getByRole('button', { name: 'Sign out of Test IdP' }).click();
    await page.waitForURL(`${deployment.idp.issuer}/**`);
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await page.getByRole('button', { name: 'Sign in with Test IdP' }).click();
    await page.getByLabel('User name').waitFor(); // asked again, not silently alice
    await context.close();
  });

  it('keeps the token login beside it, and logs a token session out without the provider', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(`${deployment.controlUrl}/`);
    await page.getByLabel('API token').fill(deployment.adminToken);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await page.getByRole('heading', { name: /Approvals inbox/ }).waitFor();
    await expect(page.locator('#who').textContent()).resolves.toBe('root@example.com (admin)');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByTestId('login-error').filter({ hasText: 'Logged out.' }).waitFor();
    expect(new URL(page.url()).origin).toBe(deployment.controlUrl);
    expect(await meStatus(context, deployment)).toBe(401);
    await context.close();
  });

  it('refuses a user whose groups map to no role, says why, and opens no session', async () => {
    const { context, page } = await signIn(deployment, 'bob');
    const reason = page.getByTestId('signin-refused-reason');
    await reason.waitFor();
    await expect(reason.textContent()).resolves.toMatch(/no Reins role is mapped to the groups .*staff/);
    expect(await meStatus(context, deployment)).toBe(401);
    const cookies = await context.cookies(deployment.controlUrl);
    expect(cookies.map((cookie) => cookie.name)).not.toContain('reins_console');

    await page.getByRole('link', { name: 'Back to the console' }).click();
    await page.getByRole('button', { name: 'Sign in with Test IdP' }).waitFor(); // still signed out
    await context.close();
  });

  it('with requireMfa, refuses a login without a second factor and admits one with it', async () => {
    const refused = await signIn(mfaDeployment, 'carol'); // an admin, but password only
    await expect(refused.page.getByTestId('signin-refused-reason').textContent()).resolves.toMatch(
      /requires multi-factor authentication/,
    );
    expect(await meStatus(refused.context, mfaDeployment)).toBe(401);
    await refused.context.close();

    const admitted = await signIn(mfaDeployment, 'alice');
    await admitted.page.getByRole('heading', { name: /Approvals inbox/ }).waitFor();
    expect(await meStatus(admitted.context, mfaDeployment)).toBe(200);
    await admitted.context.close();
  });
});
