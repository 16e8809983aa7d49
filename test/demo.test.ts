/**
 * @module test/demo.test
 * `reins demo` end to end: the scenarios behave as the story says (asserted on their structured
 * results, not on printed text), the run exits 0, appends to an existing audit log whose chain still
 * verifies, and exits non-zero when the log it is given is already broken. The demo lives in
 * examples/demo/src and imports Reins only as a user would, by its package name (checked here too);
 * `reins` resolves to the built dist/, so run `npm run build` first.
 */
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteAuditLog } from 'reins/sqlite';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import type { ScenarioContext } from '../examples/demo/src/demo-scenario.js';
import { runLeakyContextScenario } from '../examples/demo/src/leaky-context-scenario.js';
import { runMemoryScenario } from '../examples/demo/src/memory-scenario.js';
import { runReviewResponderScenario } from '../examples/demo/src/review-responder-scenario.js';
import { runDemo } from '../examples/demo/src/run-demo.js';
import { runSupportSkillScenario } from '../examples/demo/src/support-skill-scenario.js';

const EXAMPLES = resolve(import.meta.dirname, '../examples/demo');
const DEMO_SOURCES = join(EXAMPLES, 'src');
/** The public entry points (package.json "exports"): all of Reins the demo may use. */
const PUBLIC_ENTRY_POINTS = new Set(['reins', 'reins/loader', 'reins/sqlite', 'reins/postgres']);
/** The same key for every run, so a run that appends verifies the checkpoints of the one before. */
const SIGNING_KEY = generateKeyPairSync('ed25519').privateKey;

function temporaryAuditPath(): string {
  return join(mkdtempSync(join(tmpdir(), 'reins-demo-')), 'audit.db');
}

async function demo(auditPath: string, policyDirectory?: string): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const write = (line: string) => lines.push(line);
  const options = { auditPath, write, signingKey: SIGNING_KEY };
  const code = await runDemo(policyDirectory === undefined ? options : { ...options, policyDirectory });
  return { code, lines };
}

/** A copy of the demo policies with `edit` applied to one of them. */
function alteredPolicies(fileName: string, edit: (text: string) => string): string {
  const directory = mkdtempSync(join(tmpdir(), 'reins-demo-policies-'));
  cpSync(EXAMPLES, directory, { recursive: true });
  const path = join(directory, fileName);
  const text = readFileSync(path, 'utf8');
  const edited = edit(text);
  expect(edited, 'the edit must change the policy').not.toBe(text);
  writeFileSync(path, edited);
  return directory;
}

/** Runs one scenario against an in-memory audit log, collecting its output. */
async function scenario<T>(
  run: (context: ScenarioContext) => Promise<T>,
): Promise<{ result: T; lines: string[] }> {
  const audit = new SqliteAuditLog({ path: ':memory:' });
  const lines: string[] = [];
  try {
    const result = await run({ audit, write: (line) => lines.push(line), auditHeadSeq: 0 });
    return { result, lines };
  } finally {
    await audit.close();
  }
}

describe('the demo as a user of the package', () => {
  it('imports Reins only through its public entry points', () => {
    const files = readdirSync(DEMO_SOURCES).filter((name) => name.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(10);
    const violations: string[] = [];
    for (const name of files) {
      const info = ts.preProcessFile(readFileSync(join(DEMO_SOURCES, name), 'utf8'), true, true);
      for (const { fileName: specifier } of info.importedFiles) {
        const inDemo =
          specifier.startsWith('./') &&
          !relative(DEMO_SOURCES, resolve(DEMO_SOURCES, specifier)).includes('/');
        // its own files, Node, the SQLite driver of its fake CRM, and Reins by name: nothing else
        const allowed =
          inDemo ||
          PUBLIC_ENTRY_POINTS.has(specifier) ||
          specifier.startsWith('node:') ||
          specifier === 'better-sqlite3';
        if (!allowed) violations.push(`${name} imports ${specifier}`);
      }
    }
    expect(violations).toEqual([]);
  });
});

describe('scenario 4: leaky context', () => {
  it("sends Acme's fees to Globex without Reins and denies the proposal with the tenant rule", async () => {
    const { result } = await scenario(runLeakyContextScenario);
    const { withoutReins, withReins } = result;

    expect(withoutReins.sent).toHaveLength(1);
    expect(withoutReins.sent[0]?.body).toContain('EUR 1,380');
    expect(withReins.sent).toEqual([]);
    expect(withReins.calls.map((call) => [call.tool, call.effect, call.outcome])).toEqual([
      ['crm/clients.get_file', 'allow', 'ok'],
      ['crm/clients.get_file', 'allow', 'ok'],
      ['mail/proposals.send', 'deny', 'denied'],
    ]);
    const acmeRead = withReins.calls[1]?.decisionId ?? '';
    expect(withReins.calls[2]?.matchedRules).toEqual(['send-proposals', 'client-data-stays-with-its-client']);
    expect(withReins.calls[2]?.reasons.join(' ')).toContain(`(decision ${acmeRead})`);
    expect(withReins.calls[2]?.reasons.join(' ')).toContain('tenant `acme`');
    expect(result.audit).toMatchObject({ records: 6, completeCalls: 3, chain: { ok: true } });
    expect(result.checks.filter((item) => !item.passed)).toEqual([]);
  });
});

describe('scenario 1: overprivileged support skill', () => {
  it('rewrites the address without Reins and denies the write and the payroll read with it', async () => {
    const { result } = await scenario(runSupportSkillScenario);
    const { withoutReins, withReins } = result;

    expect(withoutReins.requestedAddress).toBeDefined();
    expect(withoutReins.addressAfter).toBe(withoutReins.requestedAddress);
    expect(withoutReins.addressAfter).not.toBe(withoutReins.addressBefore);
    expect(withoutReins.payrollRowsLeaked).toBeGreaterThan(0);

    expect(withReins.addressBefore).toBe(withoutReins.addressBefore);
    expect(withReins.addressAfter).toBe(withReins.addressBefore);
    expect(withReins.payrollRowsLeaked).toBe(0);
    expect(withReins.calls.map((call) => [call.tool, call.effect, call.outcome])).toEqual([
      ['crm/db.select', 'allow', 'ok'],
      ['crm/db.select', 'allow', 'ok'],
      ['crm/db.select', 'allow', 'ok'],
      ['crm/db.execute', 'deny', 'denied'],
      ['crm/db.select', 'deny', 'denied'],
    ]);
    expect(withReins.calls[3]?.matchedRules).toEqual(['support-is-read-only']);
    expect(withReins.calls[4]?.matchedRules).toEqual(['support-reads-nothing-else']);

    expect(result.audit).toMatchObject({ records: 10, completeCalls: 5, chain: { ok: true, checked: 10 } });
    expect(result.checks.filter((item) => !item.passed)).toEqual([]);
  });
});

describe('scenario 2: review-response chain', () => {
  it('publishes apologies to fake reviews without Reins and holds them with it', async () => {
    const { result, lines } = await scenario(runReviewResponderScenario);
    const { withoutReins, withReins } = result;

    expect(withoutReins.published.map((reply) => reply.reviewId)).toEqual([
      'r-1',
      'r-2',
      'r-3',
      'r-4',
      'r-5',
      'r-6',
      'r-7',
      'r-8',
    ]);
    expect(withReins.published.map((reply) => reply.reviewId)).toEqual(['r-1', 'r-3', 'r-6']);
    expect(withReins.held.map((request) => request.reviewId)).toEqual(['r-2', 'r-4', 'r-5', 'r-7', 'r-8']);
    for (const request of withReins.held) expect(request.callHash).toMatch(/^sha256:[0-9a-f]{64}$/);

    const posts = withReins.calls.filter((call) => call.tool === 'storefront/reviews.post');
    expect(
      posts.filter((call) => call.effect === 'approve').every((call) => call.outcome === 'expired'),
    ).toBe(true);
    expect(posts.filter((call) => call.effect === 'allow').every((call) => call.outcome === 'ok')).toBe(true);
    expect(withReins.shortcut).toMatchObject({ effect: 'deny', outcome: 'denied' });
    expect(withReins.shortcut?.matchedRules).toContain('post-only-drafted-replies');

    expect(lines.filter((line) => line.includes('HELD for approval'))).toHaveLength(5);
    expect(result.audit).toMatchObject({ records: 50, completeCalls: 25, chain: { ok: true } });
    expect(result.checks.filter((item) => !item.passed)).toEqual([]);
  });
});

describe('scenario 3: the memory that would not forget', () => {
  it('offers the pasted key to everyone without Reins; with it the key is never stored and acme stays in acme', async () => {
    const { result, lines } = await scenario(runMemoryScenario);
    expect(result.withoutReins.storeHoldsKey).toBe(true);
    expect(result.withoutReins.contractorSaw.join('\n')).toContain('AKIAIOSFODNN7EXAMPLE');
    expect(result.withReins.storeHoldsKey).toBe(false);
    expect(result.withReins.carlSaw).toContain(
      "ana's prod credentials: AWS_ACCESS_KEY_ID=[REDACTED:aws_access_key] AWS_SECRET_ACCESS_KEY=[REDACTED:aws_secret_key]",
    );
    expect(result.withReins.contractorSaw).toEqual([]);
    expect(result.withReins.auditHoldsKey).toBe(false);
    expect(lines.join('\n')).toMatch(/memory offered the contractor: \(nothing\)/);
    expect(result.audit).toMatchObject({ records: 6, completeCalls: 3, chain: { ok: true } });
    expect(result.checks.filter((item) => !item.passed)).toEqual([]);
  });
});

describe('runDemo', () => {
  it('tells the story, exits 0 and leaves a verified audit log', async () => {
    const auditPath = temporaryAuditPath();
    const { code, lines } = await demo(auditPath);
    const output = lines.join('\n');

    expect(code).toBe(0);
    expect(output).toMatch(/DENY +crm\/db\.execute +support-skill +— support-skill is read-only/);
    expect(output).toMatch(/after: +12 Rue des Lilas, 69003 Lyon +\(unchanged\)/);
    expect(output).toMatch(/HOLD +storefront\/reviews\.post +review-responder/);
    expect(lines.filter((line) => line.includes('HELD for approval'))).toHaveLength(5);
    expect(output).not.toContain('FAIL');
    expect(lines.at(-1)).toMatch(
      /^audit log: .* \(72 records, chain verified against [1-9]\d* signed checkpoints?\)$/,
    );

    const audit = new SqliteAuditLog({ path: auditPath });
    try {
      expect(await audit.verify()).toMatchObject({ ok: true, checked: 72 });
    } finally {
      await audit.close();
    }
  });

  it('appends to an existing log and shows only the records of this run', async () => {
    const auditPath = temporaryAuditPath();
    expect((await demo(auditPath)).code).toBe(0);
    const second = await demo(auditPath);

    expect(second.code).toBe(0);
    expect(second.lines).toContain(`audit log: ${auditPath} (already 72 records; this run appends)`);
    const trail = second.lines.filter((line) => /^ +#\d+ +call-/.test(line));
    expect(trail.length).toBeGreaterThan(0);
    expect(trail.every((line) => Number(/#(\d+)/.exec(line)?.[1]) > 72)).toBe(true);
    expect(second.lines.at(-1)).toMatch(
      /^audit log: .* \(144 records, chain verified against [1-9]\d* signed checkpoints?\)$/,
    );
  });

  it('exits non-zero when the audit log it is given is already broken', async () => {
    const auditPath = temporaryAuditPath();
    expect((await demo(auditPath)).code).toBe(0);
    const database = new Database(auditPath);
    database.exec(`update audit_events set body = replace(body, '"deny"', '"allow"') where seq = 7`);
    database.close();

    const { code, lines } = await demo(auditPath);
    expect(code).not.toBe(0);
    expect(lines.join('\n')).toMatch(/already broken at record 7/);
  });

  it('exits non-zero when the policy lets the billing-address write through', async () => {
    const policies = alteredPolicies('support-skill.yaml', (text) =>
      text.replace(
        'id: support-is-read-only\n    effect: deny',
        'id: support-is-read-only\n    effect: allow',
      ),
    );
    const { code, lines } = await demo(temporaryAuditPath(), policies);

    expect(code).toBe(1);
    expect(lines).toContain('  FAIL  scenario 1 with Reins: the UPDATE was denied');
    expect(lines).toContain('  FAIL  scenario 1 with Reins: the billing address is unchanged');
    expect(lines.join('\n')).toMatch(/reins demo: 2 of 26 checks failed/);
  });

  it('exits non-zero when the policy publishes replies to negative reviews without holding them', async () => {
    const policies = alteredPolicies('review-responder.yaml', (text) =>
      text
        .replace('when: "args.sentiment >= -0.3"', 'when: "true"')
        .replace('when: "args.sentiment < -0.3"', 'when: "false"'),
    );
    const { code, lines } = await demo(temporaryAuditPath(), policies);

    expect(code).toBe(1);
    expect(lines.filter((line) => line.startsWith('  FAIL'))).toEqual([
      '  FAIL  scenario 2 with Reins: every reply to a strongly negative review was held, and expired unpublished',
      '  FAIL  scenario 2 with Reins: no fake review got a public reply',
    ]);
  });

  it('exits non-zero when the tenant flow rule is missing and the proposal leaks', async () => {
    const policies = alteredPolicies('leaky-context.yaml', (text) => text.slice(0, text.indexOf('\nflows:')));
    const { code, lines } = await demo(temporaryAuditPath(), policies);

    expect(code).toBe(1);
    expect(lines.filter((line) => line.startsWith('  FAIL'))).toEqual([
      "  FAIL  scenario 4 with Reins: the proposal was denied by the tenant rule, naming the call that read Acme's file",
      '  FAIL  scenario 4 with Reins: nothing reached Globex',
    ]);
  });

  it('exits non-zero when the memory guard does not cover the memory server', async () => {
    const policies = alteredPolicies('team-memory.yaml', (text) =>
      text.replace('servers: memory', 'servers: some-other-memory'),
    );
    const { code, lines } = await demo(temporaryAuditPath(), policies);

    expect(code).toBe(1);
    expect(lines).toContain(
      '  FAIL  scenario 3 with Reins: the note was saved, with the key redacted before it was stored',
    );
  });

  it('exits non-zero with the problems when a policy does not load', async () => {
    const policies = alteredPolicies('support-skill.yaml', (text) =>
      text.replace('effect: allow', 'effect: permit'),
    );
    const { code, lines } = await demo(temporaryAuditPath(), policies);

    expect(code).toBe(1);
    expect(lines.join('\n')).toMatch(
      /reins demo failed: demo policy `.*support-skill\.yaml` does not load:\n.*support-skill\.yaml:\d+:\d+: /,
    );
  });
});
