/**
 * Attack (issue 16, second review): a compensation's record keeps in clear "every string the log already
 * holds in the recorded arguments of the call it undoes", and summarises the rest as
 * `(restored, N characters)`. The agent chooses those arguments: it adds a field the tool ignores
 * (server-filesystem strips unknown keys) holding its guesses of a file it may overwrite but not read.
 * When the file is rolled back, the compensation's record shows the captured content in clear if one
 * guess was right, and its exact length otherwise: the log confirms a guess of the captured state, which
 * the salted capture hash was introduced to prevent (a PIN in a file).
 * Fixed: a compensation record keeps a string in clear only where the undone call recorded the same string under the same top-level name; everything else is summarised without its length.
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

describe('an agent plants guesses of a file in its own arguments', () => {
  it('the compensation record does not confirm which guess is the captured content', async () => {
    running = await startRollbackDeployment({ policy: `${ROLLBACK_POLICY}redaction: {}\n` });
    const { work } = running;
    writeFileSync(join(work, 'vault-pin.txt'), 'PIN 4821\n');
    const agent = await running.connect('run');
    const guesses = Array.from({ length: 10_000 }, (_, i) => `PIN ${String(i).padStart(4, '0')}\n`);
    await callOk(agent, 'fs__write_file', {
      path: join(work, 'vault-pin.txt'),
      content: 'oops\n',
      guesses, // not a write_file argument: the server ignores it, the log records it
    });
    const run = running.rollback(['--session', 'run', '--reason', 'restore the pin']);
    expect(run.code, run.stdout + run.stderr).toBe(0);

    const records = running
      .reins('audit', 'export', '--format', 'jsonl')
      .split('\n')
      .filter((line) => line.includes('"compensates"') && line.includes('write_file'));
    expect(records.length).toBeGreaterThan(0);
    const shown = records.join('\n');
    // the captured content is in the compensation's record only if a guess was right: an oracle
    expect(shown).not.toContain('"content":"PIN 4821\\n"');
  }, 60_000);
});
