/**
 * Attack (issue 16): conflicts are looked for once, when the rollback is planned (before its lease is
 * even taken). A rollback of a long session takes a while (every step is a full pipeline call, newest
 * first), and the sessions it would conflict with keep running. A change another session makes to a
 * file after the plan, but before the rollback reaches the (older) call that wrote that file, is
 * silently overwritten: exactly what the conflict check exists to prevent.
 * Fixed: the plan is made under the lease, and the log is read again before each call is undone, against every call still to undo.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REINS_BIN } from '../support/deployment-fixture.js';
import { callOk, type RollbackDeployment, startRollbackDeployment } from '../support/rollback-deployment.js';

let running: RollbackDeployment | undefined;
let child: ChildProcess | undefined;

afterEach(async () => {
  if (child?.exitCode === null) child.kill();
  await running?.close();
  running = undefined;
});

describe('a change by another session while the rollback runs', () => {
  it('is reported as a conflict (or left alone), never silently overwritten', async () => {
    running = await startRollbackDeployment();
    const { work } = running;
    writeFileSync(join(work, 'config.yaml'), 'replicas: 3\n');
    const agent = await running.connect('long-run');
    await callOk(agent, 'fs__write_file', { path: join(work, 'config.yaml'), content: 'replicas: 0\n' });
    for (let index = 0; index < 60; index++)
      await callOk(agent, 'fs__write_file', { path: join(work, `scratch-${index}.txt`), content: 'x\n' });

    const fixer = await running.connect('fixer');
    const ops = running.reins('users', 'create', 'ops', '--role', 'admin').trim();
    const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^REINS_/.test(name)));
    let output = '';
    child = spawn(
      process.execPath,
      [
        REINS_BIN,
        'rollback',
        '--session',
        'long-run',
        '--reason',
        'undo',
        '--config',
        running.deployment.config,
      ],
      { cwd: running.deployment.directory, env: { ...clean, REINS_TOKEN: ops } },
    );
    child.stdout?.on('data', (chunk) => {
      output += String(chunk);
    });
    const exited = new Promise<number | null>((resolve) => child?.on('exit', resolve));
    // wait until the rollback has planned and started (its first undo makes a trash folder)
    while (!existsSync(join(work, '.reins-trash'))) await new Promise((resolve) => setTimeout(resolve, 5));
    // another session fixes the config while the rollback is still undoing the scratch files
    await callOk(fixer, 'fs__write_file', { path: join(work, 'config.yaml'), content: 'replicas: 7\n' });
    const code = await exited;

    expect(readFileSync(join(work, 'config.yaml'), 'utf8'), `${code} ${output.slice(-600)}`).toBe(
      'replicas: 7\n',
    );
  }, 60_000);
});
