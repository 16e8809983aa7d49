/**
 * @module test/support/reins-cli
 * Runs the built `reins` CLI as a separate process on a test's store, the way an operator would from
 * another terminal: what the cross-process security tests share.
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { eventually, present } from './eventually.js';

const ROOT = resolve(import.meta.dirname, '../..');

export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `reins <args> --db <db>` in `cwd` as the user whose API token is `token` (''= none); never throws. */
export function runReinsAs(token: string, db: string, cwd: string, ...args: string[]): CliRun {
  const result = spawnSync(process.execPath, [join(ROOT, 'bin/reins.js'), ...args, '--db', db], {
    cwd,
    encoding: 'utf8',
    // never a shared database from the developer's environment
    env: { ...process.env, REINS_DATABASE_URL: '', REINS_TOKEN: token },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Like `runReinsAs`, but a failure throws with the CLI's error output. */
export function reinsAs(token: string, db: string, cwd: string, ...args: string[]): string {
  const result = runReinsAs(token, db, cwd, ...args);
  if (result.status !== 0) throw new Error(`reins ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

/** A command that needs no operator (agents create, audit query, approvals list). */
export function reins(db: string, cwd: string, ...args: string[]): string {
  return reinsAs('', db, cwd, ...args);
}

/** Creates the store's first admin and an approver; returns their user API tokens. */
export function createOperators(db: string, cwd: string): { admin: string; approver: string } {
  const admin = reins(db, cwd, 'users', 'create', 'root@example.com', '--role', 'admin').trim();
  const approver = reinsAs(admin, db, cwd, 'users', 'create', 'ann@example.com', '--role', 'approver').trim();
  return { admin, approver };
}

/** Polls `reins approvals list` until a request is pending (the holding process wrote it). */
export async function waitForPendingApproval(
  db: string,
  cwd: string,
): Promise<{ id: string; sessionId: string; agentId: string; args: Record<string, unknown> }> {
  return eventually(
    () => present(JSON.parse(reins(db, cwd, 'approvals', 'list', '--format', 'json'))[0], 'none pending yet'),
    { timeoutMs: 20_000, intervalMs: 100, what: 'an approval request' },
  );
}
