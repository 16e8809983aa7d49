/**
 * @module test/security/error-text-redaction.test
 * Issue 11, critical finding "error text bypasses redaction", as an attacker (or a careless upstream)
 * would exploit it: test/support/leaky-server.ts puts secrets in every channel an MCP server has —
 * JSON-RPC errors of tools, resources and prompts, `isError` results, resource and prompt contents,
 * tool, resource and prompt descriptions, log and progress notifications. The official SDK client
 * talks to the real gateway (`reins mcp` over stdio, `reins gateway` over Streamable HTTP) under a
 * policy that redacts secrets and blocks IBANs. Nothing the agent gets, nothing in the audit database
 * (what `reins audit`, the API and the console read), nothing in the gateway's own log and nothing in
 * the tool lock may hold a raw secret.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentRegistry } from '../../src/auth/agent-registry.js';
import { Authenticator } from '../../src/auth/authenticator.js';
import { SqliteIdentityStore } from '../../src/store/sqlite/sqlite-identity-store.js';
import { connectHttp, type RunningGateway, startHttpGateway } from '../support/http-gateway.js';
import { LEAKS } from '../support/leaky-secrets.js';
import { connectThroughReins } from '../support/reins-mcp-client.js';
import { credentialKeysBeside } from '../support/test-keys.js';
import { textOf as text } from '../support/tool-result-text.js';

const ROOT = resolve(import.meta.dirname, '../..');
const LEAKY_SERVER = resolve(ROOT, 'test/support/leaky-server.ts');
const RAW = [LEAKS.password, LEAKS.awsKey, LEAKS.descriptionKey, LEAKS.githubToken, LEAKS.iban];

const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: error-text-redaction }
tools:
  - { server: leaky, name: "*", risk: low, effects: [read] }
rules:
  - { id: everything, effect: allow, tool: { server: leaky }, reason: this test is about what comes back }
redaction:
  outputs: { secret: redact, iban: block }
`;

/** The raw secrets found in `text` (none, if redaction held). */
function leaked(text: string | Buffer): string[] {
  return RAW.filter((secret) => text.includes(secret));
}

/** Every file of the store: the database and its write-ahead log. */
function storeBytes(directory: string): Buffer {
  return Buffer.concat(
    ['reins.db', 'reins.db-wal']
      .map((name) => join(directory, name))
      .filter((path) => existsSync(path))
      .map((path) => readFileSync(path)),
  );
}

/** The MCP error message a rejected request carries. */
async function rejection(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the request to be refused');
}

describe('upstream text through `reins mcp` (stdio)', () => {
  let directory: string;
  let client: Client;
  const notifications: unknown[] = [];
  let stderr = '';

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'reins-error-text-'));
    writeFileSync(join(directory, 'policy.yaml'), POLICY);
    const created = spawnSync(
      process.execPath,
      [
        join(ROOT, 'bin/reins.js'),
        'agents',
        'create',
        'dev',
        '--owner',
        'ana@example.com',
        '--scopes',
        'leaky/*',
        '--db',
        join(directory, 'reins.db'),
      ],
      { cwd: ROOT, encoding: 'utf8', env: { ...process.env, REINS_DATABASE_URL: '' } },
    );
    if (created.status !== 0) throw new Error(created.stderr);
    client = await connectThroughReins({
      agent: 'dev',
      policy: join(directory, 'policy.yaml'),
      db: join(directory, 'reins.db'),
      lock: join(directory, 'reins.lock'),
      name: 'leaky',
      upstream: ['--import', 'tsx', LEAKY_SERVER],
      clientName: 'error-text-test',
      onStderr: (chunk) => {
        stderr += chunk;
      },
    });
    client.fallbackNotificationHandler = async (notification) => {
      notifications.push(notification);
    };
  }, 30_000);

  afterAll(async () => {
    await client?.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('redacts a tool error that quotes a connection string and a key', async () => {
    const result = (await client.callTool({ name: 'leaky__connect_db', arguments: {} })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(leaked(text(result))).toEqual([]);
    expect(text(result)).toContain('postgres://admin:[REDACTED:connection_string_password]@db.internal/prod');
    expect(text(result)).toContain('[REDACTED:aws_access_key]');
  });

  it('withholds a tool error holding data the policy blocks, naming the detector only', async () => {
    const result = (await client.callTool({ name: 'leaky__wire_money', arguments: {} })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(leaked(text(result))).toEqual([]);
    expect(text(result)).toMatch(/withheld.*iban/);
  });

  it('redacts an `isError` result', async () => {
    const result = (await client.callTool({ name: 'leaky__report', arguments: {} })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(text(result)).toBe('report failed, key [REDACTED:aws_access_key]');
  });

  it('redacts tool, resource and prompt descriptions in the listings', async () => {
    const tools = JSON.stringify((await client.listTools()).tools);
    const resources = JSON.stringify((await client.listResources()).resources);
    const prompts = JSON.stringify((await client.listPrompts()).prompts);
    expect(tools).toContain('leaky__connect_db');
    expect(resources).toContain('config://prod');
    expect(prompts).toContain('leaky__deploy');
    for (const listing of [tools, resources, prompts]) {
      expect(leaked(listing)).toEqual([]);
      expect(listing).toContain('[REDACTED:');
    }
  });

  it('redacts resource contents and the error of a failing read', async () => {
    const read = await client.readResource({ uri: 'config://prod' });
    expect(leaked(JSON.stringify(read))).toEqual([]);
    expect(JSON.stringify(read)).toContain('[REDACTED:aws_access_key]');
    const message = await rejection(client.readResource({ uri: 'config://broken' }));
    expect(leaked(message)).toEqual([]);
    expect(message).toContain('[REDACTED:connection_string_password]');
  });

  it('redacts prompt messages and the error of a failing prompt', async () => {
    const prompt = await client.getPrompt({ name: 'leaky__deploy', arguments: { target: 'staging' } });
    expect(leaked(JSON.stringify(prompt))).toEqual([]);
    expect(JSON.stringify(prompt)).toContain('[REDACTED:aws_access_key]');
    const message = await rejection(client.getPrompt({ name: 'leaky__broken' }));
    expect(leaked(message)).toEqual([]);
    expect(message).toContain('[REDACTED:connection_string_password]');
  });

  it('forwards no upstream notification raw, and keeps secrets out of its own log', async () => {
    const result = (await client.callTool({ name: 'leaky__chatty', arguments: {} })) as CallToolResult;
    expect(text(result)).toBe('done');
    // the gateway answers after the upstream's notifications reached it: any it forwarded came first
    expect(leaked(JSON.stringify(notifications))).toEqual([]);
    // the unasked-for progress notification becomes an SDK client error on the gateway's side
    expect(stderr).toContain('unknown token');
    expect(leaked(stderr)).toEqual([]);
  });

  it('keeps every raw secret out of the audit database and the tool lock', async () => {
    await client.close();
    const bytes = storeBytes(directory);
    expect(bytes.includes('[REDACTED:connection_string_password]')).toBe(true);
    expect(leaked(bytes)).toEqual([]);
    expect(leaked(readFileSync(join(directory, 'reins.lock')))).toEqual([]);
    expect(leaked(stderr)).toEqual([]);
  });
});

describe('upstream text through `reins gateway` (Streamable HTTP)', () => {
  let directory: string;
  let endpoint: string;
  let token: string;
  let gateway: RunningGateway;
  let stopped: Promise<number> | undefined;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'reins-error-text-http-'));
    writeFileSync(join(directory, 'policy.yaml'), POLICY);
    writeFileSync(
      join(directory, 'reins.yaml'),
      `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: reins.db }
upstreams:
  - name: leaky
    stdio: { command: ${JSON.stringify(process.execPath)}, args: ["--import", "tsx", ${JSON.stringify(LEAKY_SERVER)}], cwd: ${JSON.stringify(ROOT)} }
listen: { host: 127.0.0.1, port: 0, path: /mcp }
`,
    );
    const identity = new SqliteIdentityStore({ path: join(directory, 'reins.db') });
    await new AgentRegistry(identity).create({ id: 'dev', owner: 'ana@example.com', scopes: ['leaky/*'] });
    const auth = await Authenticator.open({ store: identity, keys: credentialKeysBeside(directory) });
    token = (await auth.issue('dev', { sessionId: 'dev-session' })).token;
    auth.close();
    await identity.close();
    gateway = await startHttpGateway(join(directory, 'reins.yaml'));
    endpoint = gateway.endpoint;
  }, 60_000);

  afterAll(async () => {
    stopped ??= gateway.stop();
    await stopped;
    rmSync(directory, { recursive: true, force: true });
  });

  const connect = () => connectHttp(endpoint, token);

  it('redacts errors and descriptions, and keeps secrets out of the log and the store', async () => {
    const client = await connect();
    const failed = (await client.callTool({ name: 'leaky__connect_db', arguments: {} })) as CallToolResult;
    expect(failed.isError).toBe(true);
    expect(leaked(text(failed))).toEqual([]);
    expect(text(failed)).toContain('[REDACTED:connection_string_password]');
    const tools = JSON.stringify((await client.listTools()).tools);
    expect(tools).toContain('leaky__connect_db');
    expect(leaked(tools)).toEqual([]);
    const chatty = (await client.callTool({ name: 'leaky__chatty', arguments: {} })) as CallToolResult;
    expect(text(chatty)).toBe('done');
    await client.close();
    stopped = gateway.stop();
    expect(await stopped).toBe(0);
    expect(gateway.log.join('\n')).toContain('unknown token');
    expect(leaked(gateway.log.join('\n'))).toEqual([]);
    expect(leaked(storeBytes(directory))).toEqual([]);
    expect(leaked(readFileSync(join(directory, 'reins.lock')))).toEqual([]);
  });
});
