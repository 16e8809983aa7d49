/**
 * @module test/support/deployment-fixture
 * A deployment as an operator keeps it: a directory with `reins.yaml`, its policy and the memory server
 * from npm as the upstream, with the store, keys and lock at places that are not the defaults, so a test
 * can tell whether a command found them through the configuration. `reinsIn` runs the built CLI from
 * any directory with exactly the environment the test gives (never a developer's REINS_* variables).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
export const REINS_BIN = join(ROOT, 'bin/reins.js');
export const MEMORY_SERVER = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-memory/dist/index.js',
);

export const MEMORY_POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: notes }
tools:
  - { server: memory, name: "*", risk: low, effects: [read] }
rules:
  - { id: notes, effect: allow, tool: { server: memory }, reason: notes are fine }
`;

export interface Deployment {
  readonly directory: string;
  readonly config: string;
  readonly policy: string;
  /** Where reins.yaml puts the store, the key directories and the lock. */
  readonly db: string;
  readonly credentialKeys: string;
  readonly checkpointKeys: string;
  readonly lock: string;
}

/** A deployment in a new temporary directory; `extra` is appended to reins.yaml. */
export function createDeployment(options: { policy?: string; extra?: string } = {}): Deployment {
  const directory = mkdtempSync(join(tmpdir(), 'reins-deployment-'));
  const policy = join(directory, 'policy.yaml');
  writeFileSync(policy, options.policy ?? MEMORY_POLICY);
  const config = join(directory, 'reins.yaml');
  writeFileSync(
    config,
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: state/audit.db }
keys:
  credentials: { directory: secrets/credentials }
  checkpoints: { directory: secrets/checkpoints }
lock: pins/reins.lock
upstreams:
  - name: memory
    stdio: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(MEMORY_SERVER)}], env: { MEMORY_FILE_PATH: ${JSON.stringify(join(directory, 'memory.jsonl'))} } }
listen: { host: 127.0.0.1, port: 0 }
control: { listen: { host: 127.0.0.1, port: 0 }, sessionTtl: 1h }
${options.extra ?? ''}`,
  );
  return {
    directory,
    config,
    policy,
    db: join(directory, 'state/audit.db'),
    credentialKeys: join(directory, 'secrets/credentials'),
    checkpointKeys: join(directory, 'secrets/checkpoints'),
    lock: join(directory, 'pins/reins.lock'),
  };
}

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built CLI in `cwd` with `env` on top of a clean environment; never throws. */
export function reinsIn(cwd: string, env: Record<string, string>, ...args: string[]): CliRun {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^REINS_/.test(name)));
  const result = spawnSync(process.execPath, [REINS_BIN, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...clean, ...env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Like `reinsIn`, but a failure throws with the CLI's error output. */
export function okIn(cwd: string, env: Record<string, string>, ...args: string[]): string {
  const run = reinsIn(cwd, env, ...args);
  if (run.code !== 0) throw new Error(`reins ${args.join(' ')} failed (${run.code}): ${run.stderr}`);
  return run.stdout;
}

/** An empty directory to run commands from: nothing may be written into it. */
export function elsewhere(): string {
  return mkdtempSync(join(tmpdir(), 'reins-elsewhere-'));
}
