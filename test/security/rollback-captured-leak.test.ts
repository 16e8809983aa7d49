/**
 * Attack (issue 16): captured state is raw (it may hold what redaction keeps from everyone), and
 * SECURITY.md promises that (1) no CLI command returns captured contents, `reins rollback --dry-run`
 * showing compensation arguments screened by the output redaction and shortened, and (2) the intent's
 * view of a capture is redacted and shows no encoded content.
 * - `reins rollback --dry-run --format json` prints the plan as is: the compensation's `content` is the
 *   captured file, decoded, unscreened and whole. A dry run needs no operator token at all (here: run by
 *   a viewer). The same holds for the JSON report of a real rollback.
 * - The view hides base64 only from 24 characters up: a file of up to 17 bytes (a PIN, a short
 *   password, an SSN) is in the audit log as base64, which no detector reads, and every reader of the
 *   log (viewers, `reins audit export`, OTLP) can decode it.
 * - Once a rollback runs, the whole captured file is in the log anyway: the compensation's own intent
 *   records its arguments (`write_file.content` = the captured bytes), so `reins audit export` returns
 *   the captured contents in clear (only what a detector recognises is redacted), in the hash chain,
 *   although the agent never read the file.
 * Fixed: plans and reports are screened in one place for text and JSON and shown only to operators who may roll back; the view summarises `blob`/`data` fields and encoded runs from 16 characters; a compensation records only strings the undone call's record already holds, the rest summarised.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  callOk,
  ROLLBACK_POLICY,
  type RollbackDeployment,
  startRollbackDeployment,
} from '../support/rollback-deployment.js';

let running: RollbackDeployment | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
});

const KEY = 'AKIA2E3MN4QR5ST6UV7W';

describe('captured contents stay out of what operators and exports see', () => {
  it('`reins rollback --dry-run --format json` screens compensation arguments like the text plan', async () => {
    running = await startRollbackDeployment({ policy: `${ROLLBACK_POLICY}redaction: {}\n` });
    const { work } = running;
    writeFileSync(join(work, 'service.env'), `APP_PORT=8080\nAWS_ACCESS_KEY_ID=${KEY}\n`);
    const agent = await running.connect('run');
    await callOk(agent, 'fs__write_file', { path: join(work, 'service.env'), content: 'APP_PORT=0\n' });

    // a plan is built from captured state: only operators who may roll back see it
    const viewer = running.rollback(['--session', 'run', '--dry-run', '--format', 'json'], 'viewer');
    expect(viewer.code).toBe(1);
    expect(viewer.stdout).not.toContain(KEY);

    const text = running.rollback(['--session', 'run', '--dry-run']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).not.toContain(KEY); // the text plan is screened

    const json = running.rollback(['--session', 'run', '--dry-run', '--format', 'json']);
    expect(json.code, json.stderr).toBe(0);
    expect(json.stdout).not.toContain(KEY);
  }, 60_000);

  it('the intent view of a small captured file does not carry its bytes in base64', async () => {
    running = await startRollbackDeployment({
      policy: `${ROLLBACK_POLICY}redaction:\n  outputs: { secret: redact, pii: redact }\n`,
    });
    const { work } = running;
    const secret = '536-22-4817\n'; // an SSN: `[REDACTED:us_ssn]` wherever it is shown as text
    writeFileSync(join(work, 'ssn.txt'), secret);
    const agent = await running.connect('run');
    await callOk(agent, 'fs__write_file', { path: join(work, 'ssn.txt'), content: 'gone\n' });

    const log = running.reins('audit', 'export', '--format', 'jsonl');
    const encoded = Buffer.from(secret).toString('base64');
    expect(log).toContain('"reversal"');
    expect(log).not.toContain(encoded);
  }, 60_000);

  it('a rollback does not copy the captured contents into the log', async () => {
    running = await startRollbackDeployment({ policy: `${ROLLBACK_POLICY}redaction: {}\n` });
    const { work } = running;
    const privateNotes = 'HR case 2291: J. Doe, performance plan, salary 91,500, medical leave until May\n';
    writeFileSync(join(work, 'hr-notes.txt'), privateNotes);
    const agent = await running.connect('run');
    await callOk(agent, 'fs__write_file', { path: join(work, 'hr-notes.txt'), content: 'oops\n' });
    expect(running.reins('audit', 'export', '--format', 'jsonl')).not.toContain('medical leave');

    const run = running.rollback(['--session', 'run', '--reason', 'restore the notes']);
    expect(run.code, run.stderr).toBe(0);
    expect(running.reins('audit', 'export', '--format', 'jsonl')).not.toContain('medical leave');
  }, 60_000);
});
