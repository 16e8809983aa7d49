/**
 * @module test/console-provenance-browser.test
 * The session page's provenance graph (issue 18) in real Chromium, against a session recorded through
 * the real pipeline and served by the control plane from its SQLite file (test/support/provenance-
 * session): one node per call in time order and one for the user's declared request; an edge from the
 * read to each call whose argument its output fed, the one from the untrusted `notes` marked untrusted
 * in class and in words, the user's address linked to the request; the model's own values a marker on
 * their node; a subagent's source drawn as an external node naming the delegating session; a session
 * without links says so. Clicking an edge shows its decision id, field and trust. Field and argument
 * names and the request made of markup stay text. With REINS_SCREENSHOTS set, it saves
 * docs/screenshots/provenance-graph.png.
 */
import { resolve } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pointerToken } from '../src/spec/provenance.js';
import { launchChromium } from './support/console-fixture.js';
import {
  HTML_ARG,
  HTML_FIELD,
  type ProvenanceSession,
  QUIET_SESSION,
  REQUEST,
  SESSION,
  SUBAGENT_SESSION,
  startProvenanceSession,
} from './support/provenance-session.js';

/** The edge from the untrusted notes to the held send's recipient. */
const UNTRUSTED_TO = '[data-edge][data-trust="untrusted"][data-arg="/to"]';
const SCREENSHOT = resolve(import.meta.dirname, '../docs/screenshots/provenance-graph.png');

let fixture: ProvenanceSession;
let browser: Browser;

beforeAll(async () => {
  fixture = await startProvenanceSession();
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await fixture?.close();
});

interface Opened {
  page: Page;
  graph: Locator;
  /** What the page reported as errors (a CSP refusal, an exception) and dialogs it opened. */
  errors: string[];
  dialogs: string[];
}

async function openSession(sessionId: string): Promise<Opened> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(10_000);
  const errors: string[] = [];
  const dialogs: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
      errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    dialog.dismiss().catch(() => {});
  });
  await page.goto(`${fixture.url}/`);
  await page.getByLabel('API token').fill(fixture.tokens.viewer);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: /Approvals inbox/ }).waitFor();
  await page.goto(`${fixture.url}/#/sessions/${encodeURIComponent(sessionId)}`);
  await page.getByTestId('provenance').waitFor();
  return { page, graph: page.getByTestId('provenance-graph'), errors, dialogs };
}

/** The edges as their data attributes say (attribute values, never parsed). */
function edgesOf(graph: Locator) {
  return graph.locator('[data-edge]').evaluateAll((elements) =>
    elements.map((element) => ({
      from: element.getAttribute('data-from'),
      fromKind: element.getAttribute('data-from-kind'),
      to: element.getAttribute('data-to'),
      arg: element.getAttribute('data-arg'),
      field: element.getAttribute('data-field'),
      trust: element.getAttribute('data-trust'),
      session: element.getAttribute('data-session'),
      classes: element.getAttribute('class'),
      label: element.querySelector('.pg-link')?.textContent,
      tag: element.querySelector('.pg-trust')?.textContent,
    })),
  );
}

describe('the provenance graph in Chromium', () => {
  it('draws the calls, the request and the links, the untrusted one marked in colour and in words', async () => {
    const { page, graph, errors } = await openSession(SESSION);
    const { read, heldSend, send, post } = fixture.calls;
    const nodes = await graph.locator('[data-node]').evaluateAll((elements) =>
      elements.map((element) => ({
        kind: element.getAttribute('data-kind'),
        id: element.getAttribute('data-decision-id'),
        tool: element.getAttribute('data-tool'),
        effect: element.getAttribute('data-effect'),
        outcome: element.getAttribute('data-outcome'),
        own: element.getAttribute('data-own'),
        warned: element.classList.contains('pg-warned'),
      })),
    );
    // time order, the request first (declared with the read)
    expect(nodes.map((node) => [node.kind, node.id])).toEqual([
      ['request', read],
      ['call', read],
      ['call', heldSend],
      ['call', send],
      ['call', post],
    ]);
    // each call drawn with its number and tool, its decision and outcome in words
    expect(await graph.locator('[data-node][data-kind="call"] .pg-title').allTextContents()).toEqual([
      '#1 crm/get_contact',
      '#2 mail/send',
      '#3 mail/send',
      '#4 chat/post',
    ]);
    expect(await graph.locator(`[data-node][data-decision-id="${heldSend}"] .pg-sub`).textContent()).toBe(
      'held → denied',
    );
    expect(nodes[2]).toMatchObject({ tool: 'mail/send', effect: 'approve', outcome: 'denied', warned: true });
    expect(nodes[3]).toMatchObject({ effect: 'allow', outcome: 'ok', own: '1', warned: false });

    const edges = await edgesOf(graph);
    expect(edges.map(({ from, to, arg, field, trust }) => ({ from, to, arg, field, trust }))).toEqual(
      expect.arrayContaining([
        { from: read, to: heldSend, arg: '/to', field: '/notes', trust: 'untrusted' },
        { from: read, to: send, arg: '/to', field: '/email', trust: 'trusted' },
        { from: read, to: send, arg: '/cc', field: '', trust: 'user' },
        {
          from: read,
          to: post,
          arg: `/${pointerToken(HTML_ARG)}`,
          field: `/${pointerToken(HTML_FIELD)}`,
          trust: 'trusted',
        },
      ]),
    );
    // the subject is a phrase of the same untrusted notes: linked too
    expect(edges).toContainEqual(
      expect.objectContaining({
        from: read,
        to: heldSend,
        arg: '/subject',
        field: '/notes',
        trust: 'untrusted',
      }),
    );
    const untrusted = edges.find((edge) => edge.trust === 'untrusted' && edge.arg === '/to');
    expect(untrusted?.classes).toContain('pg-trust-untrusted');
    expect(untrusted?.label).toBe('to ← /notes');
    expect(untrusted?.tag).toMatch(/^UNTRUSTED\b/); // in words, not colour alone
    expect(edges.find((edge) => edge.arg === '/cc')?.fromKind).toBe('request');
    const trusted = edges.find((edge) => edge.field === '/email');
    expect(trusted?.classes).not.toContain('pg-trust-untrusted');
    // the stroke differs too: the page's own stylesheet is applied to the SVG
    // (the tests are type-checked without the DOM library: the window is reached through globalThis)
    const strokes = await graph.locator('[data-edge] .pg-line').evaluateAll((paths) => {
      const { getComputedStyle } = globalThis as unknown as {
        getComputedStyle(element: unknown): { strokeDasharray: string };
      };
      return paths.map((path) => getComputedStyle(path).strokeDasharray);
    });
    expect(new Set(strokes).size).toBeGreaterThan(1);
    expect(await page.getByTestId('provenance-warnings').textContent()).toContain('mail/send: to ← #1');
    // the model's own value (the body) is a marker on its node
    expect(
      await graph.locator('[data-node][data-kind="call"] .pg-own').first().getAttribute('data-own-args'),
    ).toBe('/id');
    expect(errors).toEqual([]);

    await page.getByTestId('provenance-warnings').scrollIntoViewIfNeeded();
    if (process.env.REINS_SCREENSHOTS) {
      await graph.locator(`${UNTRUSTED_TO} .pg-link`).click();
      await page.getByTestId('provenance').screenshot({ path: SCREENSHOT });
    }
    await page.close();
  });

  it('shows an edge’s decision id, field and trust when clicked, and keeps it across refreshes', async () => {
    const { page, graph } = await openSession(SESSION);
    const details = page.getByTestId('provenance-details');
    await graph.locator(`${UNTRUSTED_TO} .pg-link`).click();
    const text = async () => (await details.textContent()) ?? '';
    expect(await text()).toContain(fixture.calls.read);
    expect(await text()).toContain(fixture.calls.heldSend);
    expect(await text()).toContain('/notes');
    expect(await text()).toContain('untrusted: text others wrote');
    // the timeline refreshes every 2 s: the selection is still there after one
    await graph.evaluate((element) => element.setAttribute('data-seen', ''));
    await expect
      .poll(() => page.locator('[data-testid="provenance-graph"][data-seen]').count(), { timeout: 10_000 })
      .toBe(0);
    await graph.waitFor();
    expect(await text()).toContain('/notes');
    expect(await graph.locator('.pg-selected[data-edge]').getAttribute('data-field')).toBe('/notes');
    // a node: its decision id and what fed it
    await graph.locator(`[data-node][data-decision-id="${fixture.calls.send}"] .pg-title`).click();
    await expect.poll(text).toContain(fixture.calls.send);
    expect(await text()).toContain("Model's own");
    await page.close();
  });

  it('keeps markup in field names, argument names and the request as text', async () => {
    const { page, graph, dialogs, errors } = await openSession(SESSION);
    const edge = graph.locator(`[data-edge][data-to="${fixture.calls.post}"]`);
    // the label is clipped to fit its node; the edge's title has it whole
    expect(await edge.locator('.pg-link').textContent()).toMatch(/^<b onclic.* ← \/<img src/);
    expect(await edge.locator('title').textContent()).toContain(
      `${pointerToken(HTML_ARG)} ← #1 crm/get_contact /${pointerToken(HTML_FIELD)}`,
    );
    await graph.locator('[data-node][data-kind="request"] .pg-title').click();
    expect(await page.getByTestId('provenance-details').textContent()).toContain(REQUEST);
    await graph.locator(`[data-edge][data-to="${fixture.calls.post}"] .pg-link`).click();
    expect(await page.getByTestId('provenance-details').textContent()).toContain(pointerToken(HTML_FIELD));
    await page.getByText('The links as a table').click();
    await page
      .getByTestId('provenance-table')
      .getByText(`/${pointerToken(HTML_FIELD)}`)
      .waitFor();
    // nothing became an element, nothing ran
    expect(await page.locator('#main img, #main script, #main b').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __xss?: number }).__xss)).toBeUndefined();
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("draws a subagent's source as a node naming the delegating session", async () => {
    const { page, graph } = await openSession(SUBAGENT_SESSION);
    const external = graph.locator('[data-node][data-kind="external"]');
    expect(await external.getAttribute('data-session')).toBe(SESSION);
    expect(await external.getAttribute('data-decision-id')).toBe(fixture.calls.read);
    expect(await external.textContent()).toContain(`In session ${SESSION}`);
    const edges = await edgesOf(graph);
    expect(edges).toEqual([
      expect.objectContaining({
        from: fixture.calls.read,
        fromKind: 'external',
        to: fixture.calls.subagentSend,
        field: '/email',
        session: SESSION,
      }),
    ]);
    await page.close();
  });

  it('says when a session has no links', async () => {
    const { page, graph } = await openSession(QUIET_SESSION);
    await page.getByTestId('provenance-empty').filter({ hasText: 'No links' }).waitFor();
    expect(await graph.locator('[data-edge]').count()).toBe(0);
    await page.close();
  });
});
