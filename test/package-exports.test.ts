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

  it('exposes the remote protocol, the in-process mode and one adapter per framework at their subpaths', () => {
    const script = `
      const remote = await import('reins/remote');
      const inProcess = await import('reins/in-process');
      const aiSdk = await import('reins/ai-sdk');
      const agents = await import('reins/openai-agents');
      const langchain = await import('reins/langchain');
      console.log(JSON.stringify([typeof remote.RemoteGovernor, typeof remote.LocalGovernor, typeof remote.runGoverned,
        typeof inProcess.openInProcessReins, typeof aiSdk.governTools, typeof agents.reinsTool,
        typeof agents.applyReinsDecisions, typeof langchain.reinsMiddleware]));`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout)).toEqual(Array(8).fill('function'));
  });
});
