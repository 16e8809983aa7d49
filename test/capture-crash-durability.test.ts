/**
 * @module test/capture-crash-durability.test
 * kill -9 while intents with captures are being appended: the raw content of a capture is committed in
 * the same transaction as its intent, so after the crash every intent that names a capture hash has
 * its content, no content is left without its record, and every append that resolved is there.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { RecordedReversal } from '../src/spec/reversal.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';

const ROOT = resolve(import.meta.dirname, '..');

async function runAndKill(auditPath: string, appendedPath: string, durability: string, callers: number) {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'test/support/capture-crash-writer.ts'),
      auditPath,
      appendedPath,
      durability,
      String(callers),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
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
  await new Promise((wait) => setTimeout(wait, 500)); // mid-load
  const exited = new Promise((done) => child.on('exit', done));
  child.kill('SIGKILL');
  await exited;
}

describe('capture crash durability', () => {
  it.each([
    ['full', 16],
    ['process', 1],
  ] as const)(
    'keeps every capture with its intent when the process is killed with SIGKILL (durability %s, %i callers)',
    async (durability, callers) => {
      const directory = mkdtempSync(join(tmpdir(), 'reins-capture-crash-'));
      try {
        const auditPath = join(directory, 'audit.db');
        const appendedPath = join(directory, 'appended.log');
        await runAndKill(auditPath, appendedPath, durability, callers);

        const log = new SqliteAuditLog({ path: auditPath, readOnly: true });
        const intents = new Set<string>();
        const missing: string[] = [];
        for await (const record of log.records()) {
          const reversal = (JSON.parse(record.body) as { reversal?: RecordedReversal }).reversal;
          intents.add(record.decisionId);
          for (const capture of reversal?.captures ?? []) {
            const content = await log.readCaptured(capture.hash);
            if (content === undefined || createHash('sha256').update(content).digest('hex') !== capture.hash)
              missing.push(`${record.decisionId}: ${capture.hash}`);
          }
        }
        const report = await log.verify();
        await log.close();
        expect(intents.size).toBeGreaterThan(300);
        expect(missing).toEqual([]);
        expect(report.ok).toBe(true);

        // a line cut off by the kill has no newline yet: only complete lines are appends that resolved
        const resolved = readFileSync(appendedPath, 'utf8').split('\n').slice(0, -1);
        expect(resolved.filter((decisionId) => !intents.has(decisionId))).toEqual([]);

        // and no content outlived a record it came with
        const database = new Database(auditPath, { readonly: true });
        const orphans = database
          .prepare<[], { orphans: number }>(
            'select count(*) as orphans from audit_captures where last_seq > (select coalesce(max(seq), 0) from audit_events)',
          )
          .get();
        database.close();
        expect(orphans?.orphans).toBe(0);
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
    },
  );
});
