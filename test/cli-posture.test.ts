/**
 * @module test/cli-posture.test
 * Acceptance of issue 19's posture score: the built `reins posture` scores the example gateway
 * configuration (examples/gateway), and applying the fixes it prints for missing criteria — the
 * patches of its JSON report, applied to a copy of the files with a YAML editor of this test's own —
 * raises the score by exactly the points it stated. Also the formats, `--agent` and a started
 * deployment whose log earns the log points.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import type {
  CriterionResult,
  PosturePatch,
  PostureReport,
  ScopeScore,
} from '../src/inspect/posture-model.js';

const ROOT = resolve(import.meta.dirname, '..');
const EXAMPLE = join(ROOT, 'examples/gateway');

function reins(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(ROOT, 'bin/reins.js'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, REINS_DATABASE_URL: '', REINS_CONFIG: '' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function posture(config: string, ...args: string[]): PostureReport {
  const result = reins('posture', '--config', config, '--format', 'json', ...args);
  if (result.code !== 0) throw new Error(`reins posture failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as PostureReport;
}

/** A copy of the example in a fresh directory: its store and lock there, its servers from this repository. */
function copyExample(): string {
  const directory = mkdtempSync(join(tmpdir(), 'reins-posture-'));
  copyFileSync(join(EXAMPLE, 'policy.yaml'), join(directory, 'policy.yaml'));
  const config = readFileSync(join(EXAMPLE, 'reins.yaml'), 'utf8')
    .replaceAll('../../.reins', '.reins')
    .replaceAll('../../node_modules', join(ROOT, 'node_modules'));
  writeFileSync(join(directory, 'reins.yaml'), config);
  return join(directory, 'reins.yaml');
}

function criterion(scope: ScopeScore, id: string): CriterionResult {
  const found = scope.primitives
    .flatMap((primitive) => primitive.criteria)
    .find((result) => result.id === id);
  if (found === undefined) throw new Error(`no criterion ${id}`);
  return found;
}

/** Applies one patch to the file it names, the way an operator edits it (the test's own YAML editing). */
function applyToFiles(configPath: string, patch: PosturePatch): void {
  const file = patch.target === 'gateway' ? configPath : patch.file;
  const document = parseDocument(readFileSync(file, 'utf8'));
  const path = [...patch.path];
  if (patch.op === 'delete') document.deleteIn(path);
  else if (patch.op === 'set') document.setIn(path, patch.value);
  else if (document.hasIn(path)) document.addIn(path, patch.value);
  else document.setIn(path, [patch.value]);
  writeFileSync(file, document.toString());
}

describe('reins posture on the example gateway configuration', () => {
  let config: string;
  let before: PostureReport;

  beforeAll(() => {
    config = copyExample();
    before = posture(config);
  });

  it('prints the score as N/25 for the deployment, with each primitive, its evidence and fixes', () => {
    const text = reins('posture', '--config', config);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^deployment: 7\/25$/m);
    expect(text.stdout).toContain('Constrained execution: 3/5');
    expect(text.stdout).toContain('Rollback: 0/5');
    expect(text.stdout).toMatch(/\[ \] approval\.separation-of-duties/);
    expect(text.stdout).toMatch(/fix \(\+1 point\): remove `ownerMayApprove`/);
    const markdown = reins('posture', '--config', config, '--format', 'markdown');
    expect(markdown.stdout).toContain('## deployment: 7/25');
    expect(markdown.stdout).toContain('| Approval gates | 1/5 |');
  });

  it('scores the configuration alone when the deployment has not started, and says why log points are missing', () => {
    expect(before.deployment.score).toBe(7);
    expect(before.deployment.max).toBe(25);
    expect(before.agents).toEqual([]);
    const chain = criterion(before.deployment, 'logs.chain-verifies');
    expect(chain.points).toBe(0);
    expect(chain.evidence.join(' ')).toContain('does not exist (the deployment has not started)');
  });

  it('rises by exactly the stated points when the stated fixes are applied', () => {
    const ids = [
      'approval.separation-of-duties',
      'approval.notified',
      'logs.checkpoints-published',
      'execution.bounded',
      'rollback.profiles',
    ];
    let expected = before.deployment.score;
    for (const id of ids) {
      const fix = criterion(before.deployment, id).fix;
      expect(fix?.patches.length, id).toBeGreaterThan(0);
      for (const patch of fix?.patches ?? []) applyToFiles(config, patch);
      expected += fix?.gain ?? 0;
    }
    const after = posture(config);
    expect(after.deployment.score).toBe(expected);
    expect(after.deployment.score).toBe(before.deployment.score + 5);
    for (const id of ids) expect(criterion(after.deployment, id).points, id).toBe(1);
  });

  it('refuses an unknown format and an agent it cannot find', () => {
    expect(reins('posture', '--config', config, '--format', 'yaml').code).toBe(2);
    const agent = reins('posture', '--config', config, '--agent', 'nobody');
    expect(agent.code).toBe(2);
    expect(agent.stderr).toContain('no agent `nobody` to score');
  });
});

describe('reins posture on a started deployment', () => {
  it('reads the registered agents from the store and scores each, or only the one asked for', () => {
    const config = copyExample();
    const directory = resolve(config, '..');
    const db = join(directory, '.reins/audit.db');
    const created = spawnSync(
      process.execPath,
      [
        join(ROOT, 'bin/reins.js'),
        'agents',
        'create',
        'notes-bot',
        '--owner',
        'ana@example.com',
        '--roles',
        'assistant',
        '--scopes',
        'memory/*',
        '--config',
        config,
      ],
      { cwd: directory, encoding: 'utf8', env: { ...process.env, REINS_DATABASE_URL: '' } },
    );
    expect(created.status, created.stderr).toBe(0);
    const signed = reins('audit', 'checkpoint', '--config', config);
    // an empty log has nothing to sign; the chain still verifies (and earns no point without records)
    expect([0, 1]).toContain(signed.code);
    const report = posture(config);
    expect(report.sources.log).toBe(db);
    expect(report.agents.map((agent) => agent.scope)).toEqual([{ kind: 'agent', agentId: 'notes-bot' }]);
    expect(criterion(report.deployment, 'execution.least-agency').points).toBe(1);
    const only = posture(config, '--agent', 'notes-bot');
    expect(only.agents).toHaveLength(1);
    expect(criterion(only.agents[0] as ScopeScore, 'execution.least-agency').evidence).toEqual([
      '`notes-bot`: scopes `memory/*`',
    ]);
  });
});
