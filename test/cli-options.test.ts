/**
 * @module test/cli-options.test
 * Numbers and durations on the command line (issue 12): `--ttl abc` said "got NaN", `--ttl 1h` was
 * refused the same way, and `audit query --limit abc` / `--after abc` were silently ignored. A bad
 * value is refused before anything runs, with what was given and what is accepted. So are the values
 * of `audit query` that used to match nothing (`--effect nonsense`: "0 records") or something else
 * (`--from 86`: the year 1986).
 */
import { rmSync } from 'node:fs';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeployment, type Deployment, okIn, reinsIn } from './support/deployment-fixture.js';

let deployment: Deployment;
let env: Record<string, string>;

beforeAll(() => {
  deployment = createDeployment();
  env = { REINS_CONFIG: deployment.config };
  okIn(deployment.directory, env, 'keys', 'generate', '--config', deployment.config);
  okIn(deployment.directory, env, 'agents', 'create', 'bot', '--owner', 'olivia', '--scopes', 'memory/*');
}, 120_000);

afterAll(() => rmSync(deployment.directory, { recursive: true, force: true }));

function refused(args: string[], given: string, accepted: RegExp): void {
  const run = reinsIn(deployment.directory, env, ...args);
  expect(run.stderr).not.toMatch(/NaN/);
  expect(run.stderr).toContain(`\`${given}\``);
  expect(run.stderr).toMatch(accepted);
  expect(run.code).toBe(2);
}

describe('reins agents token --ttl', () => {
  it('refuses a value that is not a duration, saying what is accepted', () => {
    refused(['agents', 'token', 'bot', '--ttl', 'abc'], 'abc', /1h.*30m|30m.*1h/);
    refused(['agents', 'token', 'bot', '--ttl', '-5'], '-5', /1h/);
    refused(['agents', 'token', 'bot', '--ttl', '1.5'], '1.5', /1h/);
  }, 120_000);

  it('accepts a duration with a unit, and plain seconds as before', () => {
    for (const [ttl, seconds] of [
      ['1h', 3_600],
      ['30m', 1_800],
      ['90', 90],
    ] as const) {
      const token = okIn(deployment.directory, env, 'agents', 'token', 'bot', '--ttl', ttl).trim();
      const claims = decodeJwt(token);
      expect((claims.exp ?? 0) - (claims.iat ?? claims.nbf ?? 0)).toBe(seconds);
    }
  }, 120_000);
});

describe('other numbers', () => {
  it('audit query --limit and --after refuse what is not a number instead of ignoring it', () => {
    refused(['audit', 'query', '--limit', 'abc'], 'abc', /positive integer/);
    refused(['audit', 'query', '--limit', '0'], '0', /positive integer/);
    refused(['audit', 'query', '--after', 'abc'], 'abc', /integer/);
  }, 120_000);

  it('audit query --effect refuses a value no record can have, naming the ones it can', () => {
    for (const effect of ['nonsense', 'ALLOW', 'allowed']) {
      refused(['audit', 'query', '--effect', effect], effect, /allow, deny, approve/);
      refused(
        ['audit', 'query', '--effect', effect],
        effect,
        /ok, error, denied, expired, cancelled, abandoned/,
      );
    }
  }, 120_000);

  it('audit query --from and --to take an ISO 8601 date or date-time, not `86` read as 1986', () => {
    for (const flag of ['--from', '--to'])
      for (const time of ['86', '2026', 'yesterday', '2026-02-30', '2026-12-06T10:00', '12/06/2026'])
        refused(['audit', 'query', flag, time], time, /ISO 8601.*2026-12-06.*2026-12-06T10:00:00Z/);
  }, 120_000);

  it('audit query --kind refuses an unknown kind, naming the known ones', () => {
    refused(['audit', 'query', '--kind', 'nonsense'], 'nonsense', /call-intent, call-outcome/);
  }, 120_000);

  it('audit query accepts the values it documents', () => {
    for (const args of [
      ['--effect', 'allow'],
      ['--effect', 'abandoned'],
      ['--effect', 'quarantined'],
      ['--effect', 'rejected'],
      ['--effect', 'policy.reload-rejected'],
      ['--kind', 'operator-action'],
      ['--from', '2026-12-06'],
      ['--to', '2026-12-06T10:00:00Z'],
      ['--from', '2025-01-01T00:00:00.5+02:00', '--to', '2999-01-01'],
    ])
      expect(okIn(deployment.directory, env, 'audit', 'query', ...args)).toMatch(/records?\n$/);
  }, 120_000);

  it('reins mcp refuses a bad --call-timeout and --approval-timeout before it starts anything', () => {
    const upstream = ['--', process.execPath, '-e', 'setTimeout(() => {}, 60000)'];
    refused(['mcp', '--agent', 'bot', '--call-timeout', 'abc', ...upstream], 'abc', /30s/);
    refused(['mcp', '--agent', 'bot', '--approval-timeout', 'soon', ...upstream], 'soon', /5m/);
  }, 120_000);
});
