/**
 * @module test/checkpoint-key-replicas.test
 * Issue 14, "one deployment, one identity for its audit log". Reported from outside: each gateway
 * replica on one PostgreSQL created its own checkpoint signing key (in `.reins-keys/` beside the
 * reins.yaml it was started from), and after shutdown `reins audit verify` called the untouched shared
 * log tampered. Here two real `reins gateway` processes, each started from its own directory with its
 * own reins.yaml, serve calls on one database: with one key source (an environment variable for one,
 * a key file named in reins.yaml for the other) the log verifies from a third directory with nothing but
 * the public key; without a key source a replica refuses to start and creates nothing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyDirectory } from '../src/keys/key-directory.js';
import {
  elsewhere,
  MEMORY_POLICY,
  MEMORY_SERVER,
  okIn,
  REINS_BIN,
  reinsIn,
} from './support/deployment-fixture.js';
import { connectHttp } from './support/http-gateway.js';

const ADMIN_URL = process.env.REINS_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const database = `reins_keys_${randomBytes(6).toString('hex')}`;
const url = (() => {
  const parsed = new URL(ADMIN_URL);
  parsed.pathname = `/${database}`;
  return parsed.toString();
})();

const pem = (key: ReturnType<typeof generateKeyPairSync>['privateKey']) =>
  key.export({ format: 'pem', type: 'pkcs8' }).toString();
const checkpointKeys = generateKeyPairSync('ed25519');
const credentialKeys = generateKeyPairSync('ed25519');
/** Every process of the deployment gets the credential key the same way. */
const CREDENTIALS = { REINS_CREDENTIAL_KEY: pem(credentialKeys.privateKey) };

const directories: string[] = [];
function directory(prefix: string): string {
  const made = mkdtempSync(join(tmpdir(), prefix));
  directories.push(made);
  return made;
}

async function admin(sql: string): Promise<void> {
  const connection = new Client({ connectionString: ADMIN_URL });
  await connection.connect();
  try {
    await connection.query(sql);
  } finally {
    await connection.end();
  }
}

/** A replica's own directory and reins.yaml, as a second host would have it; `keys` is YAML or empty. */
function replica(name: string, keys = ''): string {
  const home = directory(`reins-replica-${name}-`);
  writeFileSync(join(home, 'policy.yaml'), MEMORY_POLICY);
  writeFileSync(
    join(home, 'reins.yaml'),
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { databaseUrl: ${JSON.stringify(url)} }
${keys}
upstreams:
  - name: memory
    stdio: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(MEMORY_SERVER)}], env: { MEMORY_FILE_PATH: ${JSON.stringify(join(home, 'memory.jsonl'))} } }
listen: { host: 127.0.0.1, port: 0 }
`,
  );
  return home;
}

interface Replica {
  readonly endpoint: string;
  /** SIGTERM, then its exit code and what it wrote to standard error. */
  stop(): Promise<{ code: number | null; stderr: string }>;
}

/** Runs `reins gateway` from `cwd` (its ./reins.yaml) with `env` on a clean environment. */
function startReplica(cwd: string, env: Record<string, string>): Promise<Replica> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^REINS_/.test(name)));
  const child = spawn(process.execPath, [REINS_BIN, 'gateway'], {
    cwd,
    env: { ...clean, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let stderr = '';
  let stdout = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, stderr })),
  );
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk) => {
      stdout += chunk;
      const endpoint = /listening on (\S+)/.exec(stdout)?.[1];
      if (endpoint)
        resolve({
          endpoint,
          stop: () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
    });
    void exited.then(({ code }) => reject(new StartFailed(code, stderr)));
  });
}

class StartFailed extends Error {
  constructor(
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`reins gateway exited ${code}: ${stderr}`);
  }
}

const running: ChildProcess[] = [];

/** One call through a replica, as the agent `bot`. */
async function callThrough(replicaEndpoint: string, token: string): Promise<void> {
  const client = await connectHttp(replicaEndpoint, token);
  try {
    const result = await client.callTool({ name: 'memory__read_graph', arguments: {} });
    expect(result.isError ?? false).toBe(false);
  } finally {
    await client.close();
  }
}

let operator: string;
let token: string;

beforeAll(async () => {
  await admin(`create database ${database}`);
  operator = elsewhere();
  directories.push(operator);
  okIn(
    operator,
    CREDENTIALS,
    'agents',
    'create',
    'bot',
    '--owner',
    'olivia',
    '--scopes',
    'memory/*',
    '--database-url',
    url,
  );
  token = okIn(operator, CREDENTIALS, 'agents', 'token', 'bot', '--ttl', '600', '--database-url', url).trim();
}, 60_000);

afterAll(async () => {
  for (const child of running) if (child.exitCode === null) child.kill('SIGKILL');
  for (const made of directories) rmSync(made, { recursive: true, force: true });
  await admin(`drop database if exists ${database} with (force)`);
});

describe('two gateway replicas on one PostgreSQL, started from different directories', () => {
  it('with one key source (environment variable, key file in reins.yaml), the shared log verifies anywhere with the public key', async () => {
    const secrets = directory('reins-secrets-');
    const keyFile = join(secrets, 'checkpoint.pem');
    writeFileSync(keyFile, pem(checkpointKeys.privateKey), { mode: 0o600 });
    const a = replica('a');
    const b = replica('b', `keys: { checkpoints: { file: ${JSON.stringify(keyFile)} } }`);
    const first = await startReplica(a, {
      ...CREDENTIALS,
      REINS_CHECKPOINT_KEY: pem(checkpointKeys.privateKey),
    });
    const second = await startReplica(b, CREDENTIALS);
    await callThrough(first.endpoint, token);
    await callThrough(second.endpoint, token);
    await callThrough(first.endpoint, token);
    expect((await first.stop()).code).toBe(0);
    await callThrough(second.endpoint, token);
    expect((await second.stop()).code).toBe(0);
    // neither replica made a key of its own where it ran
    for (const home of [a, b]) expect(existsSync(join(home, '.reins-keys'))).toBe(false);

    // another host: nothing but the log's address and the public key
    const auditor = directory('reins-auditor-');
    const publicKey = join(auditor, 'checkpoint-public.pem');
    writeFileSync(publicKey, checkpointKeys.publicKey.export({ format: 'pem', type: 'spki' }).toString());
    const verified = reinsIn(
      auditor,
      {},
      'audit',
      'verify',
      '--database-url',
      url,
      '--public-key',
      publicKey,
    );
    expect(verified.stderr).not.toContain('TAMPERED');
    expect(verified.stdout).toMatch(
      /^ok: .* records, chain intact, [2-9]\d* checkpoints \(signatures checked\)/,
    );
    expect(verified.code).toBe(0);
  }, 120_000);

  it('without a key source a replica refuses to start, names the options and creates nothing', async () => {
    const home = replica('unkeyed');
    // a default key directory an earlier version created beside reins.yaml is not a key source either
    createKeyDirectory(join(home, '.reins-keys', 'checkpoints'));
    const before = readdirSync(home).sort();
    const refused = await startReplica(home, CREDENTIALS).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(StartFailed);
    const { code, stderr } = refused as StartFailed;
    expect(code).toBe(2);
    expect(stderr).toMatch(/shared store/);
    for (const option of ['keys.checkpoints', '--checkpoint-keys', 'REINS_CHECKPOINT_KEY'])
      expect(stderr).toContain(option);
    expect(readdirSync(home).sort()).toEqual(before);
  }, 60_000);

  it('a key directory reins.yaml names is not created by a replica: each would create its own', async () => {
    const home = replica('named', 'keys: { checkpoints: { directory: keys/checkpoints } }');
    const refused = await startReplica(home, CREDENTIALS).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(StartFailed);
    expect((refused as StartFailed).stderr).toContain(
      `no key directory \`${join(home, 'keys/checkpoints')}\``,
    );
    expect(existsSync(join(home, 'keys'))).toBe(false);
    // made once, deliberately, and then given to every replica
    okIn(home, {}, 'keys', 'generate', '--purpose', 'checkpoints');
    const started = await startReplica(home, CREDENTIALS);
    expect((await started.stop()).code).toBe(0);
  }, 60_000);
});
