/**
 * @module test/console-rollback-api.test
 * `POST /v1/sessions/{id}/rollback` (issue 16) on a real `reins serve` (in-process) in front of the real
 * server-filesystem from npm: who may roll back (admin, a role the policy names; not a viewer or an
 * approver), the reason it needs, the CSRF token a console write needs, a dry run that changes nothing
 * and shows step arguments screened like tool output, a run that restores the directory byte for byte
 * and records operator actions, a refusal for conflicts and its override, a rollback stopped at a
 * failure, a rollback already under way; the posture of a session in its timeline; and 503 from a
 * control plane started without the gateway.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createControlApi, type PolicyStatusSource } from '../src/api/control-api.js';
import { createUser } from '../src/api/users.js';
import { Authenticator } from '../src/auth/authenticator.js';
import { wireOversight } from '../src/cli/oversight-wiring.js';
import { ephemeralKeySource } from '../src/identity/key-ring.js';
import { StoreOversight } from '../src/oversight/store-oversight.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { SqliteCounterStore } from '../src/store/sqlite/sqlite-counter-store.js';
import { SqliteIdentityStore } from '../src/store/sqlite/sqlite-identity-store.js';
import { SqliteUserStore } from '../src/store/sqlite/sqlite-user-store.js';
import { reinsIn } from './support/deployment-fixture.js';
import { LEAKS } from './support/leaky-secrets.js';
import { policyFrom } from './support/policy-fixtures.js';
import { callOk, snapshot } from './support/rollback-deployment.js';
import { type RollbackServe, type RollbackUser, startRollbackServe } from './support/rollback-serve.js';

let fixture: RollbackServe;

beforeAll(async () => {
  fixture = await startRollbackServe();
}, 60_000);

afterAll(async () => {
  await fixture?.close();
});

interface PlanBody {
  sessionId: string;
  to?: string;
  calls: {
    decisionId: string;
    tool: { server: string; name: string };
    status: string;
    reason?: string;
    steps: { tool: string; args?: Record<string, unknown>; withheld?: string }[];
  }[];
  conflicts: { decisionId: string; resource: string; other: { sessionId: string } }[];
}

interface ReportBody {
  rollbackId: string;
  complete: boolean;
  message: string;
  results: { decisionId: string; tool: string; status: string; detail?: string }[];
  plan: PlanBody;
}

interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

/** A folder of its own under the work directory, seeded with a config file and a README. */
function folder(name: string): string {
  const path = join(fixture.work, name);
  mkdirSync(path);
  writeFileSync(join(path, 'config.yaml'), 'replicas: 3\nregion: eu-west\n');
  writeFileSync(join(path, 'README.md'), '# Service\n\nStable release.\n');
  return path;
}

/** A bad change by the agent in `session`: overwrite, edit, create a file. */
async function badChange(session: string, path: string): Promise<Client> {
  const agent = await fixture.connect(session);
  await callOk(agent, 'fs__write_file', { path: join(path, 'config.yaml'), content: 'replicas: 0\n' });
  await callOk(agent, 'fs__edit_file', {
    path: join(path, 'README.md'),
    edits: [{ oldText: 'Stable release.', newText: 'Deprecated.' }],
  });
  await callOk(agent, 'fs__write_file', { path: join(path, 'junk.txt'), content: 'junk\n' });
  return agent;
}

/** `reins <args> --config reins.yaml` of the fixture's deployment. */
function reinsArgs(...args: string[]): string[] {
  return [...args, '--config', join(fixture.directory, 'reins.yaml')];
}

function rollback(session: string, as: RollbackUser, body: Record<string, unknown>): Promise<Response> {
  return fixture.api('POST', `/v1/sessions/${encodeURIComponent(session)}/rollback`, as, body);
}

async function operatorActions(session: string): Promise<{ action: string; actor: { id: string } }[]> {
  const response = await fixture.api(
    'GET',
    `/v1/audit?kind=operator-action&sessionId=${encodeURIComponent(session)}`,
    'viewer',
  );
  const { records } = (await response.json()) as {
    records: { event: { action: string; actor: { id: string } } }[];
  };
  return records.map((record) => record.event);
}

describe('POST /v1/sessions/{id}/rollback', () => {
  it('answers a dry run with the plan to admins and policy-named roles only, and changes nothing', async () => {
    const path = folder('dry');
    await badChange('dry-run', path);
    const changed = snapshot(path);

    for (const as of ['viewer', 'approver'] as const) {
      const refused = await rollback('dry-run', as, { dryRun: true });
      expect(refused.status).toBe(403);
      const body = (await refused.json()) as ErrorBody;
      expect(body.error.code).toBe('forbidden');
      expect(body.error.message).toContain('release-managers');
    }

    for (const as of ['admin', 'releaseManager'] as const) {
      const response = await rollback('dry-run', as, { dryRun: true });
      expect(response.status).toBe(200);
      const { plan } = (await response.json()) as { plan: PlanBody };
      expect(plan.sessionId).toBe('dry-run');
      expect(plan.calls.map((call) => `${call.tool.name}:${call.status}`)).toEqual([
        'write_file:undo',
        'edit_file:undo',
        'write_file:undo',
      ]);
      expect(plan.conflicts).toEqual([]);
      // the steps put back what was captured: the original bytes, as the operator may see them
      const restore = plan.calls[2]?.steps[0];
      expect(restore?.tool).toBe('write_file');
      expect(restore?.args?.content).toBe('replicas: 3\nregion: eu-west\n');
    }
    expect(snapshot(path)).toEqual(changed);
    expect(await operatorActions('dry-run')).toEqual([]); // a dry run records nothing
  }, 60_000);

  it('screens the step arguments of a plan and a report with the output redaction; the undo is exact', async () => {
    const path = folder('secret');
    writeFileSync(join(path, '.env'), `aws_access_key_id = ${LEAKS.awsKey}\n`);
    const before = snapshot(path);
    const agent = await fixture.connect('secret-run');
    await callOk(agent, 'fs__write_file', { path: join(path, '.env'), content: 'cleared\n' });

    const dry = await rollback('secret-run', 'admin', { dryRun: true });
    expect(dry.status).toBe(200);
    const text = await dry.text();
    expect(text).not.toContain(LEAKS.awsKey);
    const { plan } = JSON.parse(text) as { plan: PlanBody };
    expect(plan.calls[0]?.steps[0]).toMatchObject({ tool: 'write_file' });
    expect(plan.calls[0]?.steps[0]?.args?.content).toContain('[REDACTED:');
    // `reins rollback --dry-run` shows the same screened plan, as text and as JSON
    for (const format of ['text', 'json']) {
      const cli = reinsIn(
        fixture.directory,
        { REINS_TOKEN: fixture.tokens.admin },
        ...reinsArgs('rollback', '--session', 'secret-run'),
        '--dry-run',
        '--format',
        format,
      );
      expect(cli.code, cli.stderr).toBe(0);
      expect(cli.stdout).toContain('[REDACTED:');
      expect(cli.stdout).not.toContain(LEAKS.awsKey);
    }

    const run = await rollback('secret-run', 'admin', { reason: 'put the key back' });
    const ran = await run.text();
    expect(run.status, ran).toBe(200);
    expect(ran).not.toContain(LEAKS.awsKey);
    expect(snapshot(path)).toEqual(before); // the compensation ran with the captured bytes themselves
  }, 60_000);

  it('needs a reason to run, and the CSRF token from a console session', async () => {
    const path = folder('csrf');
    await badChange('csrf-run', path);
    const changed = snapshot(path);

    const missing = await rollback('csrf-run', 'admin', {});
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as ErrorBody).error.message).toContain('reason');

    const login = await fetch(`${fixture.serve.controlUrl}/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: fixture.tokens.admin }),
    });
    const { csrfToken } = (await login.json()) as { csrfToken: string };
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const post = (headers: Record<string, string>, body: unknown) =>
      fetch(`${fixture.serve.controlUrl}/v1/sessions/csrf-run/rollback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie, ...headers },
        body: JSON.stringify(body),
      });
    for (const body of [{ dryRun: true }, { reason: 'no token' }]) {
      const refused = await post({}, body);
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as ErrorBody).error.code).toBe('csrf_failed');
    }
    expect(snapshot(path)).toEqual(changed);
    const dry = await post({ 'x-csrf-token': csrfToken }, { dryRun: true });
    expect(dry.status).toBe(200);
  }, 60_000);

  it('rolls a session back: the directory byte for byte, on record, and the timeline says what was undone', async () => {
    const path = folder('full');
    const before = snapshot(path);
    await badChange('full-run', path);
    expect(snapshot(path)).not.toEqual(before);

    const response = await rollback('full-run', 'releaseManager', { reason: 'the agent broke the config' });
    const { report } = (await response.json()) as { report: ReportBody };
    expect(response.status, JSON.stringify(report)).toBe(200);
    expect(report.complete).toBe(true);
    expect(report.results.map((result) => result.status)).toEqual(['undone', 'undone', 'undone']);
    expect(report.message).toContain('3 undone');
    expect(snapshot(path)).toEqual(before);

    const actions = await operatorActions('full-run');
    expect(actions.map((action) => action.action)).toEqual(['session.rollback', 'session.rollback.done']);
    expect(actions.every((action) => action.actor.id === 'rita@example.com')).toBe(true);

    const timeline = await fixture.api('GET', '/v1/sessions/full-run/timeline', 'viewer');
    const { steps, posture } = (await timeline.json()) as {
      steps: { reversal?: { kind: string }; undone?: { by: string; rollbackId: string } }[];
      posture: { changing: number; reversible: number; undone: number };
    };
    expect(steps.map((step) => step.reversal?.kind)).toEqual(['reversible', 'reversible', 'reversible']);
    expect(steps.every((step) => step.undone?.rollbackId === report.rollbackId)).toBe(true);
    expect(posture).toMatchObject({ changing: 3, reversible: 3, undone: 3 });
    // the command line says so too, one line per call
    const shown = reinsIn(fixture.directory, {}, 'audit', 'show-session', '--db', 'reins.db', 'full-run');
    expect(shown.code, shown.stderr).toBe(0);
    expect(
      shown.stdout.match(/reversal: reversible; undone by rollback \S+ \(rita@example\.com\)/g),
    ).toHaveLength(3);
    const listed = reinsIn(fixture.directory, {}, 'sessions', 'show', '--db', 'reins.db', 'full-run');
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout.match(/\[reversible; undone by rollback/g)).toHaveLength(3);

    // the compensations, in the rollback session, say which call each undoes
    const undoing = await fixture.api(
      'GET',
      `/v1/sessions/${encodeURIComponent('reins.rollback/full-run')}/timeline`,
      'viewer',
    );
    const compensations = (await undoing.json()) as {
      steps: { compensates?: { decisionId: string; sessionId: string } }[];
    };
    expect(compensations.steps.length).toBeGreaterThanOrEqual(3);
    for (const step of compensations.steps) expect(step.compensates?.sessionId).toBe('full-run');

    // again: nothing is undone twice
    const again = await rollback('full-run', 'admin', { reason: 'once more' });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { report: ReportBody }).report.message).toContain('0 undone');
    expect(snapshot(path)).toEqual(before);
  }, 60_000);

  it('keeps the call named by `to` and undoes only what came after it', async () => {
    const path = folder('partial');
    const agent = await fixture.connect('partial-run');
    await callOk(agent, 'fs__write_file', { path: join(path, 'config.yaml'), content: 'replicas: 5\n' });
    const kept = snapshot(path);
    await callOk(agent, 'fs__write_file', { path: join(path, 'config.yaml'), content: 'replicas: 0\n' });
    const dry = await rollback('partial-run', 'admin', { dryRun: true });
    const { plan } = (await dry.json()) as { plan: PlanBody };
    const first = plan.calls.at(-1)?.decisionId as string;
    const response = await rollback('partial-run', 'admin', { to: first, reason: 'keep the first' });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { report: ReportBody }).report.plan.to).toBe(first);
    expect(snapshot(path)).toEqual(kept);

    const unknown = await rollback('partial-run', 'admin', { to: 'no-such-call', dryRun: true });
    expect(unknown.status).toBe(404);
    const nothing = await rollback('never-ran', 'admin', { dryRun: true });
    expect(nothing.status).toBe(404);
  }, 60_000);

  it('refuses with 409 and the conflicts when another session changed the same file since; force overwrites', async () => {
    const path = folder('conflict');
    const agent = await fixture.connect('conflict-first');
    await callOk(agent, 'fs__write_file', { path: join(path, 'config.yaml'), content: 'replicas: 0\n' });
    const other = await fixture.connect('conflict-second');
    await callOk(other, 'fs__write_file', { path: join(path, 'config.yaml'), content: 'replicas: 7\n' });
    const afterOther = snapshot(path);

    const dry = await rollback('conflict-first', 'admin', { dryRun: true });
    expect(dry.status).toBe(200);
    const { plan } = (await dry.json()) as { plan: PlanBody };
    expect(plan.conflicts).toHaveLength(1);
    expect(plan.conflicts[0]?.other.sessionId).toBe('conflict-second');

    const refused = await rollback('conflict-first', 'admin', { reason: 'undo the first run' });
    expect(refused.status).toBe(409);
    const body = (await refused.json()) as ErrorBody;
    expect(body.error.code).toBe('conflict');
    expect(body.error.details?.reason).toBe('conflicts');
    expect(body.error.details?.conflicts).toHaveLength(1);
    expect(snapshot(path)).toEqual(afterOther);
    expect(await operatorActions('conflict-first')).toEqual([]);

    const forced = await rollback('conflict-first', 'admin', { reason: 'overwrite it', force: true });
    expect(forced.status).toBe(200);
    expect(snapshot(path)['config.yaml']).toBe(
      Buffer.from('replicas: 3\nregion: eu-west\n').toString('base64'),
    );
  }, 60_000);

  it('answers 409 with the report when a compensation fails, saying what was and was not undone', async () => {
    const path = folder('failing');
    const agent = await fixture.connect('failing-run');
    await callOk(agent, 'fs__write_file', { path: join(path, 'config.yaml'), content: 'replicas: 0\n' });
    await callOk(agent, 'fs__write_file', { path: join(path, 'README.md'), content: 'gone\n' });
    // the first file the rollback reaches is no longer a file: its state cannot be put back
    rmSync(join(path, 'README.md'));
    mkdirSync(join(path, 'README.md'));

    const response = await rollback('failing-run', 'admin', { reason: 'undo it' });
    expect(response.status).toBe(409);
    const body = (await response.json()) as ErrorBody;
    expect(body.error.code).toBe('conflict');
    expect(body.error.details?.reason).toBe('failed');
    const report = body.error.details?.report as ReportBody;
    expect(report.complete).toBe(false);
    expect(report.results.map((result) => result.status)).toEqual(['failed', 'not-reached']);
    expect(report.message).toContain('stopped');
    expect(body.error.message).toBe(report.message);
    const actions = await operatorActions('failing-run');
    expect(actions.map((action) => action.action)).toEqual(['session.rollback', 'session.rollback.failed']);
  }, 60_000);

  it('answers 409 while another rollback of the session holds its lease', async () => {
    const path = folder('leased');
    await badChange('leased-run', path);
    const changed = snapshot(path);
    const counters = new SqliteCounterStore(join(fixture.directory, 'reins.db'));
    try {
      // the key rollback-run takes for the session (one rollback of a session at a time)
      expect(await counters.acquireLease('reins.rollback:leased-run', 'elsewhere', 60_000, Date.now())).toBe(
        true,
      );
      const response = await rollback('leased-run', 'admin', { reason: 'undo it' });
      expect(response.status).toBe(409);
      const body = (await response.json()) as ErrorBody;
      expect(body.error.details?.reason).toBe('busy');
      expect(body.error.message).toContain('another rollback');
      expect(snapshot(path)).toEqual(changed);
    } finally {
      await counters.releaseLease('reins.rollback:leased-run', 'elsewhere');
      counters.close();
    }
  }, 60_000);
});

describe('the posture of a session', () => {
  it('states per call whether it is reversible, and sums it up over the calls that changed something', async () => {
    const path = folder('posture');
    const agent = await fixture.connect('posture-run');
    await callOk(agent, 'fs__write_file', { path: join(path, 'config.yaml'), content: 'replicas: 0\n' });
    await callOk(agent, 'fs__read_text_file', { path: join(path, 'README.md') });
    await callOk(agent, 'fs__create_directory', { path: join(path, 'deep/er') });
    await callOk(agent, 'fs__search_files', { path, pattern: 'config' });

    const response = await fixture.api('GET', '/v1/sessions/posture-run/timeline', 'viewer');
    const { steps, posture } = (await response.json()) as {
      steps: { tool: string; changes?: boolean; reversal?: { kind: string; reason?: string } }[];
      posture: { calls: number; changing: number; reversible: number; kinds: Record<string, number> };
    };
    expect(steps.map((step) => [step.tool, step.reversal?.kind, step.changes])).toEqual([
      ['fs/write_file', 'reversible', true],
      ['fs/read_text_file', 'undeclared', false],
      ['fs/create_directory', 'unavailable', true],
      ['fs/search_files', 'undeclared', true],
    ]);
    expect(steps[2]?.reversal?.reason).toContain('parent');
    expect(posture).toMatchObject({
      calls: 4,
      changing: 3,
      reversible: 1,
      kinds: { reversible: 1, unavailable: 1, undeclared: 1 },
    });
  }, 60_000);
});

describe('a control plane without the gateway', () => {
  it('answers 503 to a rollback, after checking who asks', async () => {
    const audit = new SqliteAuditLog({ path: ':memory:' });
    const identity = new SqliteIdentityStore({ path: ':memory:' });
    const users = new SqliteUserStore({ path: ':memory:' });
    const authenticator = await Authenticator.open({ store: identity, audit, keys: ephemeralKeySource() });
    const wiring = await wireOversight({ db: ':memory:' }, { approvalTimeoutMs: 60_000, log: () => {} });
    try {
      const policy = policyFrom('rules: []');
      const source: PolicyStatusSource = {
        current: policy,
        status: () => ({
          path: 'policy.yaml',
          hash: policy.hash,
          files: ['policy.yaml'],
          summary: { ...policy.summary },
          loadedAt: '2026-01-01T00:00:00.000Z',
        }),
      };
      const oversight = new StoreOversight({
        approvals: wiring.stores.approvals,
        sessions: wiring.stores.sessions,
        identities: identity,
        audit,
      });
      const app = createControlApi({ oversight, audit, users, identity, authenticator, policy: source });
      const admin = (await createUser(users, { id: 'root', roles: ['admin'], by: 'test' })).token;
      const viewer = (await createUser(users, { id: 'vic', roles: ['viewer'], by: 'test' })).token;
      const post = (token: string) =>
        app.request('/v1/sessions/any/rollback', {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ dryRun: true }),
        });
      expect((await post(viewer)).status).toBe(403);
      const unavailable = await post(admin);
      expect(unavailable.status).toBe(503);
      const body = (await unavailable.json()) as ErrorBody;
      expect(body.error.code).toBe('unavailable');
      expect(body.error.message).toContain('reins serve');

      const me = await app.request('/v1/me', { headers: { authorization: `Bearer ${admin}` } });
      expect(((await me.json()) as { permissions: { rollback: boolean } }).permissions.rollback).toBe(false);

      const document = (await (await app.request('/v1/openapi.json')).json()) as {
        paths: Record<string, Record<string, unknown>>;
      };
      expect(document.paths['/v1/sessions/{id}/rollback']?.post).toBeDefined();
    } finally {
      await wiring.close();
      authenticator.close();
      await users.close();
      await identity.close();
      await audit.close();
    }
  });
});
