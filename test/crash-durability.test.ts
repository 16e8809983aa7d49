/**
 * @module test/crash-durability.test
 * kill -9 in the middle of a load: no action that ran may be missing its intent record. A child process
 * runs governed calls whose tool marks each run in a side file; the test kills it with SIGKILL and then
 * checks every marked decision against the audit log, which must also still verify.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';

const ROOT = resolve(import.meta.dirname, '..');

describe('crash durability', () => {
  // `process` durability (synchronous=NORMAL) skips the fsync per commit, and `causal` (the default)
  // answers an outcome before its fsync, but a killed process must still lose nothing: its commits are
  // in the operating system already (a machine crash may take the last outcomes: decision 0028). One caller means every
  // append is a lone event written on the main thread; 32 callers exercise the writer thread.
  it.each([
    ['causal', 32],
    ['causal', 1],
    ['full', 32],
    ['process', 1],
  ] as const)(
    'loses no intent record of an action that ran when the process is killed with SIGKILL (durability %s, %i callers)',
    async (durability, callers) => {
      const directory = mkdtempSync(join(tmpdir(), 'reins-crash-'));
      const auditPath = join(directory, 'audit.db');
      const actionsPath = join(directory, 'actions.log');
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          join(ROOT, 'test/support/crash-writer.ts'),
          auditPath,
          actionsPath,
          durability,
          String(callers),
        ],
        {
          cwd: ROOT,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      await new Promise<void>((done, fail) => {
        const timer = setTimeout(() => fail(new Error(`child never got going: ${stderr}`)), 20_000);
        child.stdout.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('ready')) {
            clearTimeout(timer);
            done();
          }
        });
        child.on('exit', (code) => fail(new Error(`child exited early (${code}): ${stderr}`)));
      });
      await new Promise((wait) => setTimeout(wait, 700)); // mid-load
      const exited = new Promise((done) => child.on('exit', done));
      child.kill('SIGKILL');
      await exited;

      // a line cut off by the kill has no newline yet: only complete lines are actions that ran
      const text = readFileSync(actionsPath, 'utf8');
      const ran = text.split('\n').slice(0, -1);
      expect(ran.length).toBeGreaterThan(500);

      const log = new SqliteAuditLog({ path: auditPath, readOnly: true });
      const intents = new Set<string>();
      for await (const record of log.records())
        if (record.kind === 'call-intent') intents.add(record.decisionId);
      const report = await log.verify();
      await log.close();
      const missing = ran.filter((decisionId) => !intents.has(decisionId));
      expect(missing).toEqual([]);
      expect(report.ok).toBe(true);
      expect(intents.size).toBeGreaterThanOrEqual(ran.length);
    },
  );
});
