/**
 * Attack (issue 16, second review): conflicts compare normalised resources, and "a relative path matches
 * any path ending with it". But `normalizePath` keeps a leading `..` of a relative path, while
 * server-filesystem resolves a relative path against its allowed directory: `../work/config.yaml` (the
 * allowed directory is `…/work`) is `…/work/config.yaml`. No absolute path ends with
 * `/../work/config.yaml`, and two relative paths are never compared, so another session's later change
 * to the file is no conflict: `reins rollback` (without --force) silently overwrites it.
 * The same with Unicode: server-filesystem opens an existing `café.yaml` (NFC) for a path written in NFD
 * (`cafe\u0301.yaml`), which the conflict check compares as another string.
 * Fixed: resources are compared as NFC, and a relative path with `..` (or starting with `~`) matches every resource of the server: a conflict too many rather than an overwrite.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { callOk, type RollbackDeployment, startRollbackDeployment } from '../support/rollback-deployment.js';

let running: RollbackDeployment | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

describe('rollback conflicts: a relative path that climbs out of the allowed directory and back', () => {
  it('a later write by another session through `../<allowed dir>/file` is reported, not overwritten', async () => {
    running = await startRollbackDeployment();
    const { work } = running;
    writeFileSync(join(work, 'config.yaml'), 'replicas: 3\n');
    const bad = await running.connect('bad');
    await callOk(bad, 'fs__write_file', { path: join(work, 'config.yaml'), content: 'replicas: 0\n' });
    const fixer = await running.connect('fixer');
    await callOk(fixer, 'fs__write_file', {
      path: `../${basename(work)}/config.yaml`,
      content: 'replicas: 7\n',
    });
    expect(readFileSync(join(work, 'config.yaml'), 'utf8')).toBe('replicas: 7\n');

    const run = running.rollback(['--session', 'bad', '--reason', 'undo the bad run']);
    expect(readFileSync(join(work, 'config.yaml'), 'utf8'), run.stdout + run.stderr).toBe('replicas: 7\n');
    expect(run.code, run.stdout + run.stderr).toBe(1);
  }, 60_000);

  it('two relative spellings of one file (`config.yaml`, `../work/config.yaml`) are the same resource', async () => {
    running = await startRollbackDeployment();
    const { work } = running;
    writeFileSync(join(work, 'config.yaml'), 'replicas: 3\n');
    const bad = await running.connect('bad');
    await callOk(bad, 'fs__write_file', { path: 'config.yaml', content: 'replicas: 0\n' });
    const fixer = await running.connect('fixer');
    await callOk(fixer, 'fs__write_file', {
      path: `../${basename(work)}/config.yaml`,
      content: 'replicas: 7\n',
    });

    const run = running.rollback(['--session', 'bad', '--reason', 'undo the bad run']);
    expect(readFileSync(join(work, 'config.yaml'), 'utf8'), run.stdout + run.stderr).toBe('replicas: 7\n');
    expect(run.code, run.stdout + run.stderr).toBe(1);
  }, 60_000);

  it('a later write through the NFD spelling of a file named in NFC is reported, not overwritten', async () => {
    running = await startRollbackDeployment();
    const { work } = running;
    const nfc = 'caf\u00e9.yaml';
    const nfd = 'cafe\u0301.yaml';
    writeFileSync(join(work, nfc), 'replicas: 3\n');
    const bad = await running.connect('bad');
    await callOk(bad, 'fs__write_file', { path: join(work, nfc), content: 'replicas: 0\n' });
    const fixer = await running.connect('fixer');
    await callOk(fixer, 'fs__write_file', { path: join(work, nfd), content: 'replicas: 7\n' });
    expect(readFileSync(join(work, nfc), 'utf8')).toBe('replicas: 7\n'); // one file, written through its NFD name

    const run = running.rollback(['--session', 'bad', '--reason', 'undo the bad run']);
    expect(readFileSync(join(work, nfc), 'utf8'), run.stdout + run.stderr).toBe('replicas: 7\n');
    expect(run.code, run.stdout + run.stderr).toBe(1);
  }, 60_000);
});
