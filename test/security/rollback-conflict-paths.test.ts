/**
 * Attack (issue 16): conflict detection compares the `resources` strings verbatim, while
 * server-filesystem resolves what those strings name (relative paths against the allowed directory,
 * `.`/`..`/`//` segments, symlinks) and create_directory's undo moves a whole folder aside. Another
 * session's later change to the same file, named differently, is not a conflict: `reins rollback`
 * (without --force) silently overwrites it, which SECURITY.md says cannot happen.
 * Fixed: resources are normalised (`normalizePath`), a folder covers what is under it, a relative path matches any path ending with it; symbolic links remain unseen (decision 0022).
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { callOk, type RollbackDeployment, startRollbackDeployment } from '../support/rollback-deployment.js';

let running: RollbackDeployment | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
});

describe('rollback conflicts: the same file named another way', () => {
  it('a later write by another session through a relative path is reported, not overwritten', async () => {
    running = await startRollbackDeployment();
    const { work } = running;
    writeFileSync(join(work, 'config.yaml'), 'replicas: 3\n');
    const bad = await running.connect('bad');
    await callOk(bad, 'fs__write_file', { path: join(work, 'config.yaml'), content: 'replicas: 0\n' });
    // another session fixes the file afterwards; it names it relative to the allowed directory
    const fixer = await running.connect('fixer');
    await callOk(fixer, 'fs__write_file', { path: 'config.yaml', content: 'replicas: 7\n' });
    expect(readFileSync(join(work, 'config.yaml'), 'utf8')).toBe('replicas: 7\n');

    const run = running.rollback(['--session', 'bad', '--reason', 'undo the bad run']);
    // expected: refused with a conflict naming session `fixer`, and the fixer's work kept
    expect(readFileSync(join(work, 'config.yaml'), 'utf8')).toBe('replicas: 7\n');
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stderr).toContain('fixer');
  }, 60_000);

  it('a later edit through a `..` path to the same file is reported, not overwritten (a symbolic link alone is not seen: decision 0022)', async () => {
    running = await startRollbackDeployment();
    const { work } = running;
    writeFileSync(join(work, 'config.yaml'), 'replicas: 3\n');
    mkdirSync(join(work, 'deploy'));
    symlinkSync(join(work, 'config.yaml'), join(work, 'deploy', 'current.yaml'));
    const bad = await running.connect('bad');
    await callOk(bad, 'fs__write_file', { path: join(work, 'config.yaml'), content: 'replicas: 0\n' });
    const fixer = await running.connect('fixer');
    await callOk(fixer, 'fs__write_file', {
      path: join(work, 'deploy', 'current.yaml'),
      content: 'replicas: 7\n',
    });
    await callOk(fixer, 'fs__edit_file', {
      path: `${work}/deploy/../config.yaml`,
      edits: [{ oldText: 'replicas: 7', newText: 'replicas: 8' }],
    });
    expect(readFileSync(join(work, 'config.yaml'), 'utf8')).toBe('replicas: 8\n');

    const run = running.rollback(['--session', 'bad', '--reason', 'undo the bad run']);
    expect(readFileSync(join(work, 'config.yaml'), 'utf8')).toBe('replicas: 8\n');
    expect(run.code, run.stdout + run.stderr).toBe(1);
  }, 60_000);

  it("undoing create_directory does not move another session's later file into the trash unannounced", async () => {
    running = await startRollbackDeployment();
    const { work } = running;
    const bad = await running.connect('bad');
    await callOk(bad, 'fs__create_directory', { path: join(work, 'reports') });
    const other = await running.connect('analyst');
    await callOk(other, 'fs__write_file', {
      path: join(work, 'reports', 'q3.txt'),
      content: 'the quarterly report, three days of work\n',
    });

    const run = running.rollback(['--session', 'bad', '--reason', 'undo the bad run']);
    // expected: a conflict with session `analyst` (its file is inside the folder the undo moves away)
    expect(existsSync(join(work, 'reports', 'q3.txt'))).toBe(true);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stderr).toContain('analyst');
  }, 60_000);
});
