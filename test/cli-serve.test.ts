/**
 * @module test/cli-serve.test
 * `reins users` and `reins serve` as a user runs them (built bin): the first (admin) user is created
 * with access to the store alone, the next by that admin's token; a user created on the command line
 * (token printed once, never listed) logs in to the API of a running `reins serve`; rotating the token
 * locks the old one out at once; the console is served with its security headers; SIGTERM stops the
 * server cleanly; a bad configuration is refused with file:line:column.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const require = createRequire(import.meta.url);
const memoryServer = require.resolve('@modelcontextprotocol/server-memory/dist/index.js');

let directory: string;
let config: string;

/** Runs the built CLI; `REINS_TOKEN` is the user API token of whoever runs it (none by default). */
function reinsWith(
  token: string,
  ...args: string[]
): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(ROOT, 'bin/reins.js'), ...args], {
    cwd: directory,
    encoding: 'utf8',
    env: { ...process.env, REINS_DATABASE_URL: '', REINS_TOKEN: token },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function reins(...args: string[]) {
  return reinsWith('', ...args);
}

beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), 'reins-cli-serve-'));
  writeFileSync(
    join(directory, 'policy.yaml'),
    `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: serve }
tools:
  - { server: memory, name: "*", risk: medium, effects: [write] }
rules:
  - { id: notes, effect: approve, tool: { server: memory }, reason: notes are reviewed }
`,
  );
  config = join(directory, 'reins.yaml');
  writeFileSync(
    config,
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: .reins/audit.db }
upstreams:
  - name: memory
    stdio: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(memoryServer)}], env: { MEMORY_FILE_PATH: ${JSON.stringify(join(directory, 'memory.jsonl'))} } }
listen: { host: 127.0.0.1, port: 0 }
control: { listen: { host: 127.0.0.1, port: 0 }, sessionTtl: 1h }
`,
  );
});

afterAll(() => {
  rmSync(directory, { recursive: true, force: true });
});

describe('reins users and reins serve', () => {
  let serve: ChildProcess | undefined;

  afterAll(() => {
    serve?.kill('SIGKILL');
  });

  it('creates a user whose token works against a running serve until it is rotated', async () => {
    const bootstrap = reins('users', 'create', 'root@example.com', '--role', 'admin', '--config', config);
    expect(bootstrap.code).toBe(0);
    const rootToken = bootstrap.stdout.trim();
    const created = reinsWith(
      rootToken,
      'users',
      'create',
      'alex@example.com',
      '--role',
      'approver',
      '--role',
      'finance-approvers',
      '--config',
      config,
    );
    expect(created.stderr).toContain('created user alex@example.com (approver, finance-approvers)');
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^reins_u_[A-Za-z0-9_-]{43}$/);

    const listed = reins('users', 'list', '--config', config, '--format', 'json');
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({
        id: 'alex@example.com',
        roles: ['approver', 'finance-approvers'],
        createdBy: 'root@example.com',
      }),
      expect.objectContaining({ id: 'root@example.com', roles: ['admin'] }),
    ]);
    expect(listed.stdout).not.toContain('sha256');
    expect(
      reinsWith(rootToken, 'users', 'create', 'alex@example.com', '--role', 'viewer', '--config', config)
        .code,
    ).toBe(2);

    serve = spawn(process.execPath, [join(ROOT, 'bin/reins.js'), 'serve', '--config', config], {
      cwd: directory,
      env: { ...process.env, REINS_DATABASE_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    serve.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const controlUrl = await new Promise<string>((resolvePromise, reject) => {
      serve?.stdout?.on('data', (chunk: Buffer) => {
        output.push(chunk.toString());
        const match = /console and API on (http:\/\/\S+?)\/ /.exec(output.join(''));
        if (match) resolvePromise(match[1] as string);
      });
      serve?.once('exit', (code) => reject(new Error(`serve exited ${code}: ${output.join('')}`)));
    });

    const me = await fetch(`${controlUrl}/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { user: { effectiveRoles: string[] } }).user.effectiveRoles).toEqual([
      'viewer',
      'approver',
      'finance-approvers',
    ]);
    const page = await fetch(`${controlUrl}/`);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await page.text()).toContain('/console/app.js');
    expect((await fetch(`${controlUrl}/v1/sessions`)).status).toBe(401);
    // the platform's probes need no credential, on both listeners (docs/deployment.md)
    const gatewayUrl = (
      /MCP gateway on (http:\/\/\S+)/.exec(output.join('')) as RegExpExecArray
    )[1] as string;
    for (const origin of [controlUrl, new URL(gatewayUrl).origin]) {
      expect((await fetch(`${origin}/readyz`)).status).toBe(200);
      const metrics = await (await fetch(`${origin}/metrics`)).text();
      expect(metrics).toContain('reins_upstream_up{upstream="memory"} 1');
    }

    // a user may replace their own token
    const rotated = reinsWith(token, 'users', 'rotate-token', 'alex@example.com', '--config', config);
    expect(rotated.code).toBe(0);
    const fresh = rotated.stdout.trim();
    expect(
      (await fetch(`${controlUrl}/v1/me`, { headers: { authorization: `Bearer ${token}` } })).status,
    ).toBe(401);
    expect(
      (await fetch(`${controlUrl}/v1/me`, { headers: { authorization: `Bearer ${fresh}` } })).status,
    ).toBe(200);

    // every change to users is on record
    const actions = await fetch(`${controlUrl}/v1/audit?kind=operator-action`, {
      headers: { authorization: `Bearer ${fresh}` },
    });
    const records = (
      (await actions.json()) as { records: { event: { action: string; target: { id: string } } }[] }
    ).records;
    expect(records.map((record) => record.event.action)).toEqual([
      'user.create',
      'user.create',
      'user.rotate-token',
    ]);

    const exited = new Promise<number | null>((resolveExit) => serve?.once('exit', resolveExit));
    serve.kill('SIGTERM');
    expect(await exited).toBe(0);
    serve = undefined;

    expect(reinsWith(rootToken, 'users', 'delete', 'alex@example.com', '--config', config).code).toBe(0);
    expect(reinsWith(rootToken, 'users', 'delete', 'alex@example.com', '--config', config).stderr).toContain(
      'unknown user',
    );
  }, 60_000);

  it('refuses a bad configuration with its location', () => {
    const bad = join(directory, 'bad.yaml');
    writeFileSync(
      bad,
      'apiVersion: reins.dev/v1\nkind: Gateway\npolicy: policy.yaml\nupstreams: []\ncontrol: { listen: { port: "x" } }\n',
    );
    const result = reins('serve', '--config', bad);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/bad\.yaml:\d+:\d+/);
  });
});
