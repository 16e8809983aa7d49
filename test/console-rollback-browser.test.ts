/**
 * @module test/console-rollback-browser.test
 * Rolling a session back from the web console (issue 16), in real Chromium against a real `reins serve`
 * (in-process) in front of the real server-filesystem from npm, the agent's calls made with the
 * official MCP SDK client: the session page states the posture of the session (which calls can be
 * undone); an admin clicks "Roll back…", sees the plan (each call with its steps), confirms with a
 * reason, and the directory is restored byte for byte, the report and the refreshed timeline saying
 * what was undone; "keep up to this call" undoes only what came after it; a conflict with another
 * session is highlighted and needs an explicit overwrite; a viewer sees no button.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/console-fixture.js';
import { callOk, snapshot } from './support/rollback-deployment.js';
import { type RollbackServe, type RollbackUser, startRollbackServe } from './support/rollback-serve.js';

let fixture: RollbackServe;
let browser: Browser;

beforeAll(async () => {
  fixture = await startRollbackServe();
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await fixture?.close();
});

async function logIn(as: RollbackUser): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.setDefaultTimeout(15_000);
  await page.goto(`${fixture.serve.controlUrl}/`);
  await page.getByLabel('API token').fill(fixture.tokens[as]);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: /Approvals inbox/ }).waitFor();
  return page;
}

/** A folder of its own under the work directory, seeded. */
function folder(name: string): string {
  const path = join(fixture.work, name);
  mkdirSync(path);
  writeFileSync(join(path, 'config.yaml'), 'replicas: 3\nregion: eu-west\n');
  writeFileSync(join(path, 'README.md'), '# Service\n\nStable release.\n');
  writeFileSync(join(path, 'notes.txt'), 'remember the milk\n');
  return path;
}

describe('rolling a session back from the console', () => {
  it('shows the plan, runs it with a reason and restores the directory byte for byte', async () => {
    const path = folder('bad-edit');
    const before = snapshot(path);
    const agent = await fixture.connect('bad-edit');
    await callOk(agent, 'fs__read_text_file', { path: join(path, 'README.md') });
    await callOk(agent, 'fs__write_file', { path: join(path, 'config.yaml'), content: 'replicas: 0\n' });
    await callOk(agent, 'fs__edit_file', {
      path: join(path, 'README.md'),
      edits: [{ oldText: 'Stable release.', newText: 'Deprecated.' }],
    });
    await callOk(agent, 'fs__move_file', {
      source: join(path, 'notes.txt'),
      destination: join(path, 'old-notes.txt'),
    });
    await callOk(agent, 'fs__write_file', { path: join(path, 'junk.txt'), content: 'junk\n' });
    expect(snapshot(path)).not.toEqual(before);

    const page = await logIn('admin');
    await page.goto(`${fixture.serve.controlUrl}/#/sessions/bad-edit`);
    // the posture: one badge per call, and a summary over the calls that changed something
    await expect.poll(() => page.getByTestId('step').count()).toBe(5);
    expect(await page.getByTestId('step-reversal').allTextContents()).toEqual([
      'read-only',
      'reversible',
      'reversible',
      'reversible',
      'reversible',
    ]);
    expect(await page.getByTestId('session-posture').textContent()).toBe('4 of 4 changing calls reversible');

    await page.getByRole('button', { name: 'Roll back…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Roll back session bad-edit' });
    const calls = dialog.getByTestId('plan-call');
    await expect.poll(() => calls.count()).toBe(5);
    // newest first, each with what will run to undo it
    expect(await calls.getByTestId('plan-tool').allTextContents()).toEqual([
      'fs/write_file',
      'fs/move_file',
      'fs/edit_file',
      'fs/write_file',
      'fs/read_text_file',
    ]);
    expect(await calls.getByTestId('plan-status').allTextContents()).toEqual([
      'undo',
      'undo',
      'undo',
      'undo',
      'nothing-to-undo',
    ]);
    expect(await calls.nth(1).getByTestId('plan-step').textContent()).toContain('move_file');
    expect(await calls.nth(3).getByTestId('plan-step').textContent()).toContain('replicas: 3');
    expect(await dialog.getByTestId('rollback-conflicts').count()).toBe(0);
    expect(await dialog.textContent()).not.toMatch(/null|undefined/);
    expect(snapshot(path)).not.toEqual(before); // the plan changed nothing

    await dialog.getByTestId('rollback-confirm').click(); // without a reason: refused, nothing runs
    await dialog.getByTestId('rollback-error').filter({ hasText: 'Give a reason' }).waitFor();
    await dialog.getByLabel('Reason for the rollback (recorded)').fill('the agent broke the config');
    await dialog.getByTestId('rollback-confirm').click();
    const report = dialog.getByTestId('rollback-report');
    await report.filter({ hasText: '4 undone' }).waitFor();
    expect(await report.getByTestId('report-result').count()).toBe(5);
    expect(snapshot(path)).toEqual(before);

    // the timeline behind the dialog is refreshed: every call that changed something is undone
    await dialog.getByRole('button', { name: 'Close' }).click();
    await expect
      .poll(() => page.getByTestId('step-reversal').allTextContents())
      .toEqual(['read-only', 'undone', 'undone', 'undone', 'undone']);
    expect(await page.getByTestId('session-posture').textContent()).toContain('4 undone by a rollback');
    await page.close();
  }, 90_000);

  it('keeps the chosen call and undoes only what came after it', async () => {
    const path = folder('keep-some');
    const agent = await fixture.connect('keep-some');
    await callOk(agent, 'fs__write_file', { path: join(path, 'config.yaml'), content: 'replicas: 5\n' });
    const kept = snapshot(path);
    await callOk(agent, 'fs__write_file', { path: join(path, 'config.yaml'), content: 'replicas: 0\n' });
    await callOk(agent, 'fs__write_file', { path: join(path, 'extra.txt'), content: 'x\n' });

    const page = await logIn('releaseManager'); // a role the policy names
    await page.goto(`${fixture.serve.controlUrl}/#/sessions/keep-some`);
    await page.getByRole('button', { name: 'Roll back…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Roll back session keep-some' });
    const calls = dialog.getByTestId('plan-call');
    await expect.poll(() => calls.count()).toBe(3);
    await calls.nth(2).getByLabel('Keep up to this call').check();
    await expect
      .poll(() => calls.getByTestId('plan-status').allTextContents())
      .toEqual(['undo', 'undo', 'kept']);
    await dialog.getByLabel('Reason for the rollback (recorded)').fill('keep the first change');
    await dialog.getByTestId('rollback-confirm').click();
    await dialog.getByTestId('rollback-report').filter({ hasText: '2 undone' }).waitFor();
    expect(snapshot(path)).toEqual(kept);
    await page.close();
  }, 90_000);

  it('highlights a conflict with another session and runs only when told to overwrite', async () => {
    const path = folder('clash');
    const agent = await fixture.connect('clash-first');
    await callOk(agent, 'fs__write_file', { path: join(path, 'config.yaml'), content: 'replicas: 0\n' });
    const other = await fixture.connect('clash-second');
    await callOk(other, 'fs__write_file', { path: join(path, 'config.yaml'), content: 'replicas: 7\n' });
    const afterOther = snapshot(path);

    const page = await logIn('admin');
    await page.goto(`${fixture.serve.controlUrl}/#/sessions/clash-first`);
    await page.getByRole('button', { name: 'Roll back…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Roll back session clash-first' });
    const conflicted = dialog.getByTestId('plan-call').filter({ has: page.getByTestId('plan-conflict') });
    await conflicted.waitFor();
    expect(await conflicted.getByTestId('plan-conflict').textContent()).toContain('clash-second');
    expect(await dialog.getByTestId('rollback-conflicts').textContent()).toContain('overwritten');
    await dialog.getByLabel('Reason for the rollback (recorded)').fill('undo the first run');
    expect(await dialog.getByTestId('rollback-confirm').isDisabled()).toBe(true);
    expect(snapshot(path)).toEqual(afterOther);
    await dialog.getByLabel(/Overwrite their changes/).check();
    await dialog.getByTestId('rollback-confirm').click();
    await dialog.getByTestId('rollback-report').filter({ hasText: '1 undone' }).waitFor();
    expect(snapshot(path)['config.yaml']).toBe(
      Buffer.from('replicas: 3\nregion: eu-west\n').toString('base64'),
    );
    await page.close();
  }, 90_000);

  it('shows a viewer the posture of a session but no Roll back… button', async () => {
    const path = folder('viewed');
    const agent = await fixture.connect('viewed');
    await callOk(agent, 'fs__write_file', { path: join(path, 'config.yaml'), content: 'replicas: 0\n' });
    const page = await logIn('viewer');
    await page.goto(`${fixture.serve.controlUrl}/#/sessions/viewed`);
    await page
      .getByTestId('session-posture')
      .filter({ hasText: '1 of 1 changing call reversible' })
      .waitFor();
    expect(await page.getByTestId('step-reversal').allTextContents()).toEqual(['reversible']);
    expect(await page.getByTestId('rollback-open').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Roll back…' }).count()).toBe(0);
    await page.close();
  }, 60_000);
});
