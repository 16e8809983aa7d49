/**
 * Attack (issue 16): a compensation runs "through the full pipeline", including the policy's *input*
 * redaction, on arguments built from the raw captured state. The documented redaction defaults
 * (`inputs: { secret: block }`) and `redact` therefore apply to the bytes Reins itself captured:
 * - `redact`: a restored file gets `[REDACTED:…]` in place of its secret, and the rollback reports
 *   the call `undone` (silent corruption of the file it claims to restore, e.g. a service's .env);
 * - `block` (the default): a file that held a secret cannot be restored, and the first such
 *   compensation stops the whole rollback. An agent can manufacture that on purpose: two harmless edits
 *   assemble an access-key-shaped string in a scratch file, then it overwrites the scratch file last;
 *   every change it made before can no longer be rolled back.
 * The writes themselves were decided `reversible`, so no reversible-or-approved rule held them.
 * Fixed: a compensation runs with the captured bytes, not screened as input; its record keeps them summarised.
 */
import { readFileSync, writeFileSync } from 'node:fs';
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

const ENV = 'APP_PORT=8080\nAWS_ACCESS_KEY_ID=AKIA2E3MN4QR5ST6UV7W\n';

describe('rollback restores captured bytes that hold a secret', () => {
  it('restores them exactly under `inputs: { secret: redact }`, or does not claim it did', async () => {
    running = await startRollbackDeployment({
      policy: `${ROLLBACK_POLICY}redaction:\n  inputs: { secret: redact }\n`,
    });
    const { work } = running;
    writeFileSync(join(work, 'service.env'), ENV);
    const agent = await running.connect('run');
    await callOk(agent, 'fs__write_file', { path: join(work, 'service.env'), content: 'APP_PORT=0\n' });

    const run = running.rollback(['--session', 'run', '--reason', 'restore the service config']);
    const restored = readFileSync(join(work, 'service.env'), 'utf8');
    // either the bytes are back, or the rollback must not report success
    if (run.code === 0) expect(restored, run.stdout).toBe(ENV);
    else expect(restored).not.toContain('[REDACTED');
    expect(restored).not.toContain('[REDACTED');
  }, 60_000);

  it('restores them under the default redaction (`inputs: { secret: block }`)', async () => {
    running = await startRollbackDeployment({ policy: `${ROLLBACK_POLICY}redaction: {}\n` });
    const { work } = running;
    writeFileSync(join(work, 'service.env'), ENV);
    const agent = await running.connect('run');
    await callOk(agent, 'fs__write_file', { path: join(work, 'service.env'), content: 'APP_PORT=0\n' });

    const run = running.rollback(['--session', 'run', '--reason', 'restore the service config']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(readFileSync(join(work, 'service.env'), 'utf8')).toBe(ENV);
  }, 60_000);

  it('an agent cannot make its earlier damage un-undoable by assembling a secret-shaped string', async () => {
    running = await startRollbackDeployment({ policy: `${ROLLBACK_POLICY}redaction: {}\n` });
    const { work } = running;
    writeFileSync(join(work, 'config.yaml'), 'replicas: 3\n');
    const agent = await running.connect('rogue');
    // the damage
    await callOk(agent, 'fs__write_file', { path: join(work, 'config.yaml'), content: 'replicas: 0\n' });
    // the lock: no single argument holds a key, so input redaction lets each call through
    await callOk(agent, 'fs__write_file', { path: join(work, 'scratch.txt'), content: 'AKIA\n' });
    await callOk(agent, 'fs__edit_file', {
      path: join(work, 'scratch.txt'),
      edits: [{ oldText: '\n', newText: '2E3MN4QR5ST6UV7W\n' }],
    });
    expect(readFileSync(join(work, 'scratch.txt'), 'utf8')).toBe('AKIA2E3MN4QR5ST6UV7W\n');
    await callOk(agent, 'fs__write_file', { path: join(work, 'scratch.txt'), content: 'x\n' });

    const run = running.rollback(['--session', 'rogue', '--reason', 'undo the rogue run']);
    expect(readFileSync(join(work, 'config.yaml'), 'utf8'), run.stdout + run.stderr).toBe('replicas: 3\n');
  }, 60_000);
});
