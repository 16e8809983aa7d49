/**
 * @module test/gateway-upstream-stderr.test
 * Issue 12, "the gateway stops restarting an upstream that writes to stderr": a stdio upstream's
 * standard error is drained, logged line by line with the upstream's name, screened for secrets and
 * bounded per upstream (with a count of what was not logged); its last lines are shown when it fails
 * to start or dies, and an upstream that dies (killed with SIGKILL mid-session, after a 1.5 MB flood)
 * is restarted and serves again. The official SDK client through `reins mcp` (stdio) and `reins
 * gateway` (Streamable HTTP) in front of test/support/noisy-server.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentRegistry } from '../src/auth/agent-registry.js';
import { Authenticator } from '../src/auth/authenticator.js';
import { SqliteIdentityStore } from '../src/store/sqlite/sqlite-identity-store.js';
import { connectHttp, startHttpGateway, textOf } from './support/http-gateway.js';
import { LEAKS } from './support/leaky-secrets.js';
import { connectThroughReins } from './support/reins-mcp-client.js';
import { credentialKeysBeside } from './support/test-keys.js';

const ROOT = resolve(import.meta.dirname, '..');
const NOISY = resolve(ROOT, 'test/support/noisy-server.ts');
const RAW = [LEAKS.awsKey, LEAKS.password];

const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: upstream-stderr }
tools:
  - { server: noisy, name: "*", risk: low, effects: [read] }
rules:
  - { id: all, effect: allow, tool: { server: noisy }, reason: this test is about the upstream's stderr }
redaction:
  outputs: { secret: redact }
`;

const leaked = (text: string) => RAW.filter((secret) => text.includes(secret));

/** Polls `check` (every 50 ms, at most 20 s); fails with `what` and the log so far. */
async function until(check: () => boolean | Promise<boolean>, what: string, log: () => string) {
  for (let attempt = 0; !(await check()); attempt++) {
    if (attempt > 400) throw new Error(`${what} never happened; the log:\n${log().slice(-4000)}`);
    await new Promise((wait) => setTimeout(wait, 50));
  }
}

function createAgent(db: string): void {
  const created = spawnSync(
    process.execPath,
    [join(ROOT, 'bin/reins.js'), 'agents', 'create', 'dev', '--owner', 'ana@example.com'].concat([
      '--scopes',
      'noisy/*',
      '--db',
      db,
    ]),
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env, REINS_DATABASE_URL: '' } },
  );
  if (created.status !== 0) throw new Error(created.stderr);
}

/** The lines of `log` that quote the upstream's stderr. */
const stderrLines = (log: string) =>
  log.split('\n').filter((line) => line.startsWith('reins mcp: upstream `noisy` stderr: '));

describe('a stdio upstream that writes to stderr, through `reins mcp`', () => {
  let directory: string;
  let client: Client;
  let log = '';
  const logged = () => log;
  const call = async (name: string, args: Record<string, unknown> = {}) =>
    (await client.callTool({ name: `noisy__${name}`, arguments: args })) as CallToolResult;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'reins-upstream-stderr-'));
    writeFileSync(join(directory, 'policy.yaml'), POLICY);
    createAgent(join(directory, 'reins.db'));
    client = await connectThroughReins({
      agent: 'dev',
      policy: join(directory, 'policy.yaml'),
      db: join(directory, 'reins.db'),
      lock: join(directory, 'reins.lock'),
      name: 'noisy',
      upstream: ['--import', 'tsx', NOISY],
      clientName: 'upstream-stderr-test',
      onStderr: (chunk) => {
        log += chunk;
      },
    });
  }, 30_000);

  afterAll(async () => {
    await client?.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('logs each line the upstream writes, named and screened', async () => {
    await until(
      () => log.includes('upstream `noisy` stderr: noisy: started, using key [REDACTED:aws_access_key]'),
      'the start-up line',
      logged,
    );
    expect(textOf(await call('say', { text: `connecting to ${LEAKS.connection}` }))).toBe('said');
    await until(
      () =>
        log.includes(
          'upstream `noisy` stderr: connecting to postgres://admin:[REDACTED:connection_string_password]@db.internal/prod',
        ),
      'the line `say` wrote',
      logged,
    );
    expect(leaked(log)).toEqual([]);
  });

  it('keeps serving an upstream that writes 1.5 MB to stderr, and logs a bounded part of it', async () => {
    const before = log.length;
    expect(textOf(await call('shout'))).toBe('shouted');
    expect(textOf(await call('shout'))).toBe('shouted');
    expect(textOf(await call('say', { text: 'after the flood' }))).toBe('said');
    const flood = stderrLines(log.slice(before));
    // 3 MB were written; what reaches Reins' log is bounded per upstream, lines are cut
    expect(flood.join('\n').length).toBeLessThan(64 * 1024);
    expect(Math.max(...flood.map((line) => line.length))).toBeLessThan(1_200);
  });

  it('restarts an upstream killed with SIGKILL mid-session: pending calls fail at once, later calls work', async () => {
    const pid = Number(textOf(await call('pid')));
    expect(textOf(await call('say', { text: 'last words before the kill' }))).toBe('said');
    const pending = call('wait');
    await new Promise((wait) => setTimeout(wait, 200)); // let the call reach the upstream
    process.kill(pid, 'SIGKILL');
    const failed = await pending;
    expect(failed.isError).toBe(true);
    expect(textOf(failed)).not.toMatch(/timed out/i);
    let restarted = Number.NaN;
    await until(
      async () => {
        const result = await call('pid');
        if (result.isError) return false;
        restarted = Number(textOf(result));
        return true;
      },
      'a restart',
      logged,
    );
    expect(restarted).not.toBe(pid);
    expect(textOf(await call('say', { text: 'back again' }))).toBe('said');
    // the death is logged with the upstream's last lines, and what the flood left unlogged is counted
    const closed = log.split('\n').find((line) => line.includes('upstream `noisy` closed'));
    expect(closed).toContain('last words before the kill');
    expect(log).toMatch(/upstream `noisy` dropped: [\d,]+ lines \([\d,.]+ [KM]B\) of its stderr not logged/);
    expect(leaked(log)).toEqual([]);
  }, 30_000);

  it('shows the last lines of an upstream that fails to start, screened and bounded', () => {
    const run = spawnSync(
      process.execPath,
      [
        join(ROOT, 'bin/reins.js'),
        'mcp',
        '--agent',
        'dev',
        '--policy',
        join(directory, 'policy.yaml'),
      ].concat(
        ['--db', join(directory, 'reins.db'), '--lock', join(directory, 'reins.lock'), '--name', 'noisy'],
        ['--', process.execPath, '--import', 'tsx', NOISY, '--fail', '40'],
      ),
      { cwd: ROOT, encoding: 'utf8', input: '', env: { ...process.env, REINS_DATABASE_URL: '' } },
    );
    expect(run.status).toBe(2);
    const failure = run.stderr.slice(run.stderr.indexOf('upstream `noisy` did not start'));
    expect(failure).toContain('did not start');
    expect(failure).toContain('startup line 40');
    expect(failure).toContain('fatal: cannot reach postgres://admin:[REDACTED:connection_string_password]@');
    expect(failure).not.toContain('startup line 5\n'); // only the last lines
    expect(leaked(run.stderr)).toEqual([]);
  }, 30_000);
});

describe('a stdio upstream that writes to stderr, through `reins gateway`', () => {
  let directory: string;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'reins-upstream-stderr-http-'));
    writeFileSync(join(directory, 'policy.yaml'), POLICY);
    const identity = new SqliteIdentityStore({ path: join(directory, 'reins.db') });
    await new AgentRegistry(identity).create({ id: 'dev', owner: 'ana@example.com', scopes: ['noisy/*'] });
    await identity.close();
  });

  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  function config(file: string, args: string[]): string {
    writeFileSync(
      join(directory, file),
      `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: reins.db }
upstreams:
  - name: noisy
    stdio: { command: ${JSON.stringify(process.execPath)}, args: ${JSON.stringify(['--import', 'tsx', NOISY, ...args])}, cwd: ${JSON.stringify(ROOT)} }
listen: { host: 127.0.0.1, port: 0, path: /mcp }
`,
    );
    return join(directory, file);
  }

  it('logs the upstream stderr lines, named and screened, in the gateway log', async () => {
    const identity = new SqliteIdentityStore({ path: join(directory, 'reins.db') });
    const auth = await Authenticator.open({ store: identity, keys: credentialKeysBeside(directory) });
    const token = (await auth.issue('dev', { sessionId: 'dev-session' })).token;
    auth.close();
    await identity.close();
    const gateway = await startHttpGateway(config('reins.yaml', []));
    try {
      const client = await connectHttp(gateway.endpoint, token);
      expect(textOf(await client.callTool({ name: 'noisy__say', arguments: { text: 'over http' } }))).toBe(
        'said',
      );
      await until(
        () => gateway.log.includes('upstream `noisy` stderr: over http'),
        'the line `say` wrote',
        () => gateway.log.join('\n'),
      );
      expect(gateway.log).toContain(
        'upstream `noisy` stderr: noisy: started, using key [REDACTED:aws_access_key]',
      );
      await client.close();
    } finally {
      expect(await gateway.stop()).toBe(0);
    }
    expect(leaked(gateway.log.join('\n'))).toEqual([]);
  }, 60_000);

  it('stops an upstream it is restarting when it shuts down, leaving no process behind', async () => {
    const pidFile = join(directory, 'pids');
    const pids = () =>
      existsSync(pidFile) ? readFileSync(pidFile, 'utf8').trim().split('\n').map(Number) : [];
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const gateway = await startHttpGateway(config('restarting.yaml', ['--pid-file', pidFile]));
    const log = () => gateway.log.join('\n');
    try {
      process.kill(pids()[0] as number, 'SIGKILL');
      // the restarted process never starts serving: the restart is still under way at shutdown
      await until(() => pids().length === 2, 'a restart', log);
    } finally {
      expect(await gateway.stop()).toBe(0);
    }
    const restarted = pids()[1] as number;
    await until(() => !alive(restarted), 'the end of the restarting upstream', log);
  }, 60_000);

  it('refuses to start with an upstream that fails, showing its last lines', async () => {
    await expect(startHttpGateway(config('failing.yaml', ['--fail', '3']))).rejects.toThrow(
      /upstream `noisy` did not start.*startup line 3.*\[REDACTED:connection_string_password\]/s,
    );
  }, 60_000);
});
