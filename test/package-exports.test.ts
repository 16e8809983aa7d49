/**
 * @module test/package-exports.test
 * The package as a consumer imports it (self-reference through package.json "exports", built dist/).
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

describe('package exports', () => {
  it('exposes the engine and harness at `reins`, and Node-only parts at subpaths', () => {
    const script = `
      const main = await import('reins');
      const loader = await import('reins/loader');
      const sqlite = await import('reins/sqlite');
      console.log(JSON.stringify([typeof main.Harness, typeof main.compilePolicy, typeof main.ToolCallSchema,
        typeof loader.PolicyWatcher, typeof loader.runPolicyTestFile, typeof sqlite.SqliteAuditLog]));`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout)).toEqual([
      'function',
      'function',
      'object',
      'function',
      'function',
      'function',
    ]);
  });
});
