/**
 * @module test/gateway-upstream-stderr.test
 * Issue 12, "the gateway stops restarting an upstream that writes to stderr": a stdio upstream's
 * standard error is drained, logged line by line with the upstream's name, screened for secrets and
 * bounded per upstream (with a count of what was not logged); its last lines are shown when it fails
 * to start or dies, and an upstream that dies (killed with SIGKILL mid-session, after a 1.5 MB flood)
 * is restarted and serves again. The official SDK client through `reins mcp` (stdio) and `reins
 * gateway` (Streamable HTTP) in front of test/support/noisy-server.ts. The bounds themselves (line
 * splitting, the budget window, cut lines, the tail, screening over several lines) are checked on
 * the stderr reader alone, with its own clock. A private key written in pieces (several reads of the
 * pipe) is never logged or shown: the lines after its BEGIN line are withheld up to its END line
 * (found in the outside review of issue 12).
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentRegistry } from '../src/auth/agent-registry.js';
import { Authenticator } from '../src/auth/authenticator.js';
import { Upstream } from '../src/gateway/upstream.js';
import { type StderrLimits, UpstreamStderr } from '../src/gateway/upstream-stderr.js';
import { upstreamTextScreen } from '../src/harness/upstream-screen.js';
import { SqliteIdentityStore } from '../src/store/sqlite/sqlite-identity-store.js';
import { eventually } from './support/eventually.js';
import { connectHttp, startHttpGateway, textOf } from './support/http-gateway.js';
import { LEAKS } from './support/leaky-secrets.js';
import { policyFrom } from './support/policy-fixtures.js';
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

/** The lines of a PEM key between its BEGIN and END lines: the key material. */
const keyBody = (pem: string) => pem.trimEnd().split('\n').slice(1, -1);

/** Waits (at most 20 s) until `check` holds; fails with `what` and the end of the log so far. */
async function until(check: () => boolean | Promise<boolean>, what: string, log: () => string) {
  await eventually(check, { timeoutMs: 20_000, what: () => `${what}; the log:\n${log().slice(-4000)}` });
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

/** `reins mcp` (its files in `directory`) in front of the noisy upstream with these options (which make it fail to start). */
function startFailingUpstream(directory: string, ...noisyOptions: string[]) {
  return spawnSync(
    process.execPath,
    [
      join(ROOT, 'bin/reins.js'),
      'mcp',
      '--agent',
      'dev',
      '--policy',
      join(directory, 'policy.yaml'),
      '--db',
      join(directory, 'reins.db'),
      '--lock',
      join(directory, 'reins.lock'),
      '--name',
      'noisy',
      '--',
      process.execPath,
      '--import',
      'tsx',
      NOISY,
      ...noisyOptions,
    ],
    { cwd: ROOT, encoding: 'utf8', input: '', env: { ...process.env, REINS_DATABASE_URL: '' } },
  );
}

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
    expect(textOf(await call('say', { text: 'hello from noisy' }))).toBe('said');
    await until(
      () => log.includes('upstream `noisy` stderr: hello from noisy\n'),
      'the line `say` wrote',
      logged,
    );
    expect(leaked(log)).toEqual([]);
  });

  it('never logs a private key the upstream writes to stderr in pieces, and logs what follows', async () => {
    const file = join(directory, 'upstream-key.pem');
    expect(textOf(await call('pem', { file }))).toBe('written');
    expect(textOf(await call('say', { text: 'after the key' }))).toBe('said');
    await until(
      () => log.includes('upstream `noisy` stderr: after the key\n'),
      'the line after the key',
      logged,
    );
    const body = keyBody(readFileSync(file, 'utf8'));
    expect(body.length).toBeGreaterThan(20);
    expect(body.filter((line) => log.includes(line))).toEqual([]);
    expect(log).not.toContain('-----END RSA PRIVATE KEY-----');
    expect(log).toContain('upstream `noisy` stderr: [REDACTED:private_key]\n');
    // the last three pieces, each read apart from the BEGIN line (the pipe may join two of them)
    expect(log).toMatch(
      /upstream `noisy` stderr: \(\d+ lines withheld: the rest of a private key, up to its END line\)\n/,
    );
  });

  it('keeps serving an upstream that writes 1.5 MB to stderr, and logs a bounded part of it', async () => {
    const before = log.length;
    expect(textOf(await call('shout'))).toBe('shouted');
    expect(textOf(await call('shout'))).toBe('shouted');
    expect(textOf(await call('say', { text: 'after the flood' }))).toBe('said');
    const flood = stderrLines(log.slice(before));
    // 3 MB were written; what reaches Reins' log is bounded per upstream, lines are cut
    expect(flood.some((line) => line.includes('x'.repeat(100)))).toBe(true);
    expect(flood.join('\n').length).toBeLessThan(64 * 1024);
    expect(Math.max(...flood.map((line) => line.length))).toBeLessThan(1_200);
  });

  it('restarts an upstream killed with SIGKILL mid-session: pending calls fail at once, later calls work', async () => {
    const pid = Number(textOf(await call('pid')));
    expect(textOf(await call('say', { text: 'last words before the kill' }))).toBe('said');
    const arrived = join(directory, 'wait-arrived');
    const pending = call('wait', { file: arrived });
    await until(
      () => existsSync(arrived),
      'the call reaching the upstream',
      () => log,
    );
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
    expect(log).toMatch(
      /upstream `noisy` closed: restarting in \d+ ms; its last lines on stderr: .* \| last words before the kill\n/,
    );
    expect(log).toMatch(/upstream `noisy` dropped: [\d,]+ lines \([\d.]+ MB\) of its stderr not logged/);
    expect(leaked(log)).toEqual([]);
  }, 30_000);

  it('shows the last lines of an upstream that fails to start, screened and bounded', () => {
    const run = startFailingUpstream(directory, '--fail', '40');
    expect(run.status).toBe(2);
    const failure = run.stderr.slice(run.stderr.indexOf('upstream `noisy` did not start'));
    expect(failure).toContain('did not start');
    expect(failure).toContain('startup line 40');
    expect(failure).toContain('fatal: cannot reach postgres://admin:[REDACTED:connection_string_password]@');
    expect(failure).not.toContain('startup line 5\n'); // only the last lines
    expect(leaked(run.stderr)).toEqual([]);
  }, 30_000);

  it('shows no part of a private key among the last lines of an upstream that fails to start', () => {
    const file = join(directory, 'failing-key.pem');
    const run = startFailingUpstream(directory, '--fail', '3', '--pem-file', file);
    expect(run.status).toBe(2);
    const body = keyBody(readFileSync(file, 'utf8'));
    expect(body.filter((line) => run.stderr.includes(line))).toEqual([]);
    expect(run.stderr).not.toContain('-----END RSA PRIVATE KEY-----');
    const failure = run.stderr.slice(run.stderr.indexOf('upstream `noisy` did not start'));
    // the tail (20 lines) holds the end of the key, its BEGIN line long gone
    expect(failure).toContain('lines withheld: part of a private key) | fatal: cannot reach postgres://');
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
        () => gateway.log.includes('reins gateway: upstream `noisy` stderr: over http'),
        'the line `say` wrote',
        () => gateway.log.join('\n'),
      );
      expect(gateway.log).toContain(
        'reins gateway: upstream `noisy` stderr: noisy: started, using key [REDACTED:aws_access_key]',
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

describe('an upstream that dies soon after every start', () => {
  it('is restarted with a longer wait each time, and each death is logged with its last lines', async () => {
    const events: string[] = [];
    const upstream = new Upstream(
      {
        name: 'noisy',
        stdio: {
          command: process.execPath,
          args: ['--import', 'tsx', NOISY, '--exit-after', '300'],
          env: {},
        },
      },
      { callTimeoutMs: 5_000, onEvent: (event) => events.push(`${event.kind}: ${event.message}`) },
    );
    const delays = () => events.flatMap((event) => /^closed: restarting in (\d+) ms/.exec(event)?.[1] ?? []);
    await upstream.connect();
    try {
      await until(
        () => delays().length >= 3,
        'three restarts',
        () => events.join('\n'),
      );
    } finally {
      await upstream.close();
    }
    // a crash loop backs off (it would otherwise log its last lines four times a second)
    expect(delays().slice(0, 3)).toEqual(['250', '500', '1000']);
    expect(events.find((event) => event.startsWith('closed:'))).toContain(
      'its last lines on stderr: noisy: started, using key',
    );
  }, 60_000);
});

describe('the stderr reader of one upstream', () => {
  const PEM = `-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA${'A'.repeat(64)}\n${'B'.repeat(64)}==\n-----END RSA PRIVATE KEY-----`;
  const LIMITS: StderrLimits = {
    lines: 3,
    bytes: 1_000,
    windowMs: 1_000,
    tailLines: 4,
    lineChars: 100,
    shownChars: 40,
  };
  const screen = upstreamTextScreen(
    { current: policyFrom('rules: []\nredaction:\n  outputs: { secret: redact }') },
    'noisy',
  );
  /** The next turn of the event loop: what was written has been read. */
  const read = () => new Promise((done) => setImmediate(done));

  function reader(limits: Partial<StderrLimits> = {}) {
    const clock = { now: 0 };
    const logged: string[] = [];
    const stderr = new UpstreamStderr({
      log: (kind, message) => logged.push(`${kind}: ${message}`),
      screen,
      limits: { ...LIMITS, ...limits },
      now: () => clock.now,
    });
    const stream = new PassThrough();
    return { stderr, stream, tail: stderr.follow(stream), logged, clock };
  }

  it('splits what it reads into lines, whatever the chunks, and escapes control characters', async () => {
    const { stream, logged } = reader();
    const accented = Buffer.from('hé');
    stream.write(accented.subarray(0, 2)); // half of the é
    stream.write(Buffer.concat([accented.subarray(2), Buffer.from('llo\r\nsecond')]));
    stream.write(' line\n\u001b[2Jcleared \u202eevil\n');
    await read();
    expect(logged).toEqual(['stderr: héllo', 'stderr: second line', 'stderr: \\u001b[2Jcleared \\u202eevil']);
  });

  it('logs at most its budget per window, then says how much it left out', async () => {
    const { stream, logged, clock } = reader();
    stream.write(Array.from({ length: 10 }, (_, index) => `line ${index + 1}\n`).join(''));
    await read();
    expect(logged).toEqual(['stderr: line 1', 'stderr: line 2', 'stderr: line 3']);
    clock.now += 1_000;
    stream.write('later\n');
    await read();
    expect(logged.slice(3)).toEqual([
      'dropped: 7 lines (50 bytes) of its stderr not logged: over the limit of 3 lines or 1000 bytes per 1 s',
      'stderr: later',
    ]);
  });

  it('counts bytes against the budget too, and reports what it left out when the stream ends', async () => {
    const { stream, tail, logged } = reader({ bytes: 20 });
    stream.end('abcdefghij\nklmnopqrst\nuvwxyz\n');
    await tail.settled(5_000);
    expect(logged).toEqual([
      'stderr: abcdefghij',
      'dropped: 2 lines (18 bytes) of its stderr not logged: over the limit of 3 lines or 20 bytes per 1 s',
    ]);
  });

  it('keeps a bounded part of a long line, and says how much of it was cut', async () => {
    const { stream, logged } = reader();
    stream.write(`${'x'.repeat(250)}\n`);
    await read();
    expect(logged).toEqual([`stderr: ${'x'.repeat(40)} … (210 more characters)`]);
  });

  it('screens a secret written over several lines as a whole before logging it', async () => {
    const { stream, logged } = reader({ lines: 100 });
    stream.write(`before\n${PEM}\nafter\n`);
    await read();
    expect(logged).toEqual(['stderr: before', 'stderr: [REDACTED:private_key]', 'stderr: after']);
  });

  it('keeps the last lines of the process, logged or not, and shows them screened', async () => {
    const { stderr, stream, tail } = reader({ tailLines: 6 });
    stream.end(`one\ntwo\nthree\nfour\n${PEM}\nlast words`);
    const lines = await stderr.lastLines(tail);
    expect(tail.lines()).toHaveLength(6);
    expect(lines).toBe('; its last lines on stderr: four | [REDACTED:private_key] | last words');
  });

  describe('a private key written in pieces', () => {
    const pem = generateKeyPairSync('ec', {
      namedCurve: 'secp521r1',
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    }).privateKey.trimEnd();
    const [begin, ...rest] = pem.split('\n');
    const end = rest.pop() as string;
    const body = rest; // 64-character lines of the key, at least 3
    const shows = (text: string) => body.filter((line) => text.includes(line.slice(0, 40)));

    it('withholds the lines after the BEGIN line up to its END line, across reads', async () => {
      const { stream, logged } = reader({ lines: 100 });
      stream.write(`before\n${begin}\n${body[0]}\n`);
      await read();
      stream.write(`${body.slice(1, -1).join('\n')}\n`);
      await read();
      stream.write(`${body.at(-1)}\n${end}\nafter\n`);
      await read();
      expect(shows(logged.join('\n'))).toEqual([]);
      expect(logged).toEqual([
        'stderr: before',
        'stderr: [REDACTED:private_key]',
        `stderr: (${body.length + 1} lines withheld: the rest of a private key, up to its END line)`,
        'stderr: after',
      ]);
    });

    it('withholds them whatever the key type, even when the screen lets secrets through', async () => {
      const logged: string[] = [];
      const stderr = new UpstreamStderr({
        log: (kind, message) => logged.push(`${kind}: ${message}`),
        screen: (text) => text,
        limits: { ...LIMITS, lines: 100 },
      });
      const stream = new PassThrough();
      stderr.follow(stream);
      stream.write('-----BEGIN OPENSSH PRIVATE KEY-----\n');
      await read();
      stream.write('b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n');
      await read();
      stream.write('-----END OPENSSH PRIVATE KEY-----\nafter\n');
      await read();
      expect(logged).toEqual([
        'stderr: -----BEGIN OPENSSH PRIVATE KEY-----',
        'stderr: (2 lines withheld: the rest of a private key, up to its END line)',
        'stderr: after',
      ]);
    });

    it('withholds the lines after a BEGIN line whose END did not come in the same read', async () => {
      const { stream, tail, logged } = reader({ lines: 100 });
      // the screen would not recognise the body after a line that is not base64
      stream.write(`${begin}\nProc-Type: 4,ENCRYPTED\n${body.join('\n')}\n`);
      await read();
      stream.end(`${end}\n`);
      await tail.settled(5_000);
      expect(shows(logged.join('\n'))).toEqual([]);
      expect(logged).toEqual([
        'stderr: [REDACTED:private_key]',
        `stderr: (${body.length + 2} lines withheld: the rest of a private key, up to its END line)`,
      ]);
    });

    it('says so when the stream ends before the END line', async () => {
      const { stream, tail, logged } = reader({ lines: 100 });
      stream.write(`${begin}\n`);
      await read();
      stream.end(`${body.join('\n')}`);
      await tail.settled(5_000);
      expect(shows(logged.join('\n'))).toEqual([]);
      expect(logged).toEqual([
        'stderr: [REDACTED:private_key]',
        `stderr: (${body.length} lines withheld: a private key whose END line never came)`,
      ]);
    });

    it('logs again after at most 200 lines or 64 KB without an END line, and says so', async () => {
      const { stream, logged } = reader({ lines: 1_000, bytes: 1_000_000 });
      stream.write(`${begin}\n`);
      await read();
      for (let line = 1; line <= 205; line++) stream.write(`line ${line}\n`);
      await read();
      expect(logged.slice(0, 3)).toEqual([
        'stderr: [REDACTED:private_key]',
        'stderr: (200 lines withheld after a private key BEGIN line with no END line within 200 lines or 64 KB; what follows is logged)',
        'stderr: line 201',
      ]);
      expect(logged).toHaveLength(7);

      const wide = reader({ lines: 1_000, bytes: 1_000_000, lineChars: 10_000 });
      wide.stream.write(`${begin}\n`);
      await read();
      for (let line = 1; line <= 10; line++)
        wide.stream.write(`${String(line).repeat(8_000).slice(0, 8_000)}\n`);
      await read();
      expect(wide.logged[1]).toBe(
        'stderr: (8 lines withheld after a private key BEGIN line with no END line within 200 lines or 64 KB; what follows is logged)',
      );
      expect(wide.logged[2]).toMatch(/^stderr: 9{40} … \(7,960 more characters\)$/);
    });

    it('keeps the key out of the last lines, whether or not its BEGIN line is among them', async () => {
      const split = reader({ tailLines: 3 + body.length });
      split.stream.write(`one\n${begin}\n`);
      await read();
      split.stream.end(`${body.join('\n')}\n${end}\nlast words`);
      const lines = await split.stderr.lastLines(split.tail);
      expect(shows(lines)).toEqual([]);
      expect(lines).toBe(
        `; its last lines on stderr: [REDACTED:private_key] | (${body.length + 1} lines withheld: part of a private key) | last words`,
      );

      // read whole, but the tail has lost its BEGIN line
      const whole = reader({ tailLines: 3 });
      whole.stream.end(`${pem}\nlast words`);
      const last = await whole.stderr.lastLines(whole.tail);
      expect(shows(last)).toEqual([]);
      expect(last).toBe('; its last lines on stderr: (2 lines withheld: part of a private key) | last words');
    });
  });
});
