/**
 * @module test/security/key-custody.test
 * Finding "keys live where the data lives" (issue 11). A deployment is set up with the real CLI
 * (`reins agents create`, `reins agents token`) and the real gateway (`reins gateway`, in-process) on
 * the embedded store. Then an attacker who can only READ the database file looks for private signing
 * keys in it and mints a credential for an agent with each one; an attacker who can WRITE the database
 * inserts a key of their own and mints with it. The gateway must refuse both credentials, the store
 * must hold no private key, and the store file must not be readable by other users.
 */

import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import Database from 'better-sqlite3';
import { importPKCS8, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { runHttpGateway } from '../../src/cli/gateway-command.js';
import { CREDENTIAL_TYPE } from '../../src/spec/credential-claims.js';
import { connectHttp } from '../support/http-gateway.js';

const ROOT = resolve(import.meta.dirname, '../..');
const require = createRequire(import.meta.url);
const memoryServer = require.resolve('@modelcontextprotocol/server-memory/dist/index.js');

let directory: string;
let db: string;

/** The built CLI, run in the deployment's directory as an operator would. */
function reins(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(ROOT, 'bin/reins.js'), ...args], {
    cwd: directory,
    encoding: 'utf8',
    env: { ...process.env, REINS_DATABASE_URL: '' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs the real gateway on the deployment's reins.yaml while `work` runs, then stops it. */
async function withGateway<T>(work: (endpoint: string) => Promise<T>): Promise<T> {
  const stop = new AbortController();
  const errors: string[] = [];
  let announce: (line: string) => void = () => {};
  const listening = new Promise<string>((resolve) => {
    announce = resolve;
  });
  const exit = runHttpGateway(
    { config: join(directory, 'reins.yaml') },
    { out: (line) => announce(line), err: (line) => errors.push(line) },
    stop.signal,
  );
  const line = await Promise.race([
    listening,
    exit.then((code) => {
      throw new Error(`gateway exited ${code}: ${errors.join('\n')}`);
    }),
  ]);
  try {
    return await work((/listening on (\S+)/.exec(line) as RegExpExecArray)[1] as string);
  } finally {
    stop.abort();
    await exit;
  }
}

/** Does the gateway let this credential list the agent's tools? */
async function accepted(endpoint: string, token: string): Promise<boolean> {
  let client: Client | undefined;
  try {
    client = await connectHttp(endpoint, token);
    const tools = await client.listTools();
    return tools.tools.length > 0;
  } catch {
    return false;
  } finally {
    await client?.close().catch(() => {});
  }
}

/** A credential for `agent` exactly as Reins would issue it, signed with the attacker's key. */
async function mint(privateKeyPem: string, kid: string, agent: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: 'reins',
    aud: 'reins',
    sub: agent,
    sid: `stolen-${randomUUID()}`,
    scope: 'memory/*',
    jti: randomUUID(),
    iat: now,
    nbf: now,
    exp: now + 600,
    dpt: 0,
    anc: [],
  })
    .setProtectedHeader({ alg: 'EdDSA', kid, typ: CREDENTIAL_TYPE })
    .sign(await importPKCS8(privateKeyPem, 'EdDSA'));
}

/** What a reader of the database file finds: every private key PEM in any text column, with its kid. */
function privateKeysIn(path: string): { kid: string; pem: string }[] {
  const database = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const found: { kid: string; pem: string }[] = [];
    const tables = database
      .prepare("select name from sqlite_master where type = 'table'")
      .pluck()
      .all() as string[];
    for (const table of tables) {
      for (const row of database.prepare(`select * from "${table}"`).all() as Record<string, unknown>[]) {
        for (const value of Object.values(row)) {
          if (typeof value !== 'string' || !value.includes('PRIVATE KEY')) continue;
          const pem = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n?/.exec(
            value.replaceAll('\\n', '\n'),
          );
          let kid = '';
          try {
            kid = String((JSON.parse(value) as { kid?: unknown }).kid ?? '');
          } catch {
            // not JSON: the key alone (kid unknown)
          }
          if (pem) found.push({ kid, pem: pem[0] });
        }
      }
    }
    return found;
  } finally {
    database.close();
  }
}

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-key-custody-'));
  db = join(directory, 'reins.db');
  writeFileSync(
    join(directory, 'policy.yaml'),
    `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: key-custody }
tools:
  - { server: memory, name: "*", risk: low, effects: [read] }
rules:
  - { id: notes, effect: allow, tool: { server: memory }, reason: notes are fine }
`,
  );
  writeFileSync(
    join(directory, 'reins.yaml'),
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: reins.db }
upstreams:
  - name: memory
    stdio: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(memoryServer)}], env: { MEMORY_FILE_PATH: ${JSON.stringify(join(directory, 'memory.jsonl'))} } }
listen: { host: 127.0.0.1, port: 0, path: /mcp }
`,
  );
  for (const agent of ['victim', 'issued']) {
    const created = reins(
      'agents',
      'create',
      agent,
      '--owner',
      'ops@example.com',
      '--scopes',
      'memory/*',
      '--db',
      db,
    );
    expect(created.code, created.stderr).toBe(0);
  }
  // first start of the deployment, then an operator issues a credential as the README says
  await withGateway(async () => {});
  const token = reins('agents', 'token', 'issued', '--db', db);
  expect(token.code, token.stderr).toBe(0);
  // the honest credential works: the gateway is really checking credentials, not refusing everything
  await withGateway(async (endpoint) => {
    expect(await accepted(endpoint, token.stdout.trim())).toBe(true);
  });
}, 120_000);

describe('key custody', () => {
  it('a reader of the database finds no private key, and a credential minted with one is refused', async () => {
    const stolen = privateKeysIn(db);
    await withGateway(async (endpoint) => {
      for (const key of stolen) {
        expect(await accepted(endpoint, await mint(key.pem, key.kid, 'victim')), `key ${key.kid}`).toBe(
          false,
        );
      }
    });
    expect(stolen.map((key) => key.kid)).toEqual([]);
  }, 60_000);

  it('a writer of the database cannot add a signing key of their own', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const privateKeyPem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const kid = 'attacker-key';
    const database = new Database(db, { fileMustExist: true });
    const tables = database.prepare("select name from sqlite_master where type = 'table'").pluck().all();
    if (tables.includes('signing_keys')) {
      // the record format the store used for its keys
      database.prepare('insert into signing_keys (kid, body) values (?, ?)').run(
        kid,
        JSON.stringify({
          kid,
          privateKeyPem,
          publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
          createdAt: '2999-01-01T00:00:00.000Z',
        }),
      );
    }
    database.close();
    await withGateway(async (endpoint) => {
      expect(await accepted(endpoint, await mint(privateKeyPem, kid, 'victim'))).toBe(false);
    });
  }, 60_000);

  it('the store file is not readable by other users', () => {
    expect((statSync(db).mode & 0o077).toString(8)).toBe('0');
  });
});
