/**
 * @module test/cli-code-cache.test
 * The CLI starts with the V8 code cache its build made (bin/load-bundle.js, scripts/bundle-cli.ts; issue
 * 20). The cache is code the process runs, so what is guarded here is when it is used: only for the
 * build that made it (V8 itself checks no more than the source's length), and a cache V8 refuses costs
 * speed, never the command. Each case runs in a fresh `node`, as the CLI does (V8 refuses a cache made
 * under other flags, and vitest's workers run with their own).
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const LOADER = join(ROOT, 'bin', 'load-bundle.js');
const POLICY = join(ROOT, 'examples', 'gateway', 'policy.yaml');

let directory: string;

beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), 'reins-code-cache-'));
});

afterAll(() => {
  if (directory) rmSync(directory, { recursive: true, force: true });
});

/** A copy of the built package (bin/, dist/bundle/, package.json) to change: the real one stays as built. */
function packageCopy(name: string): { root: string; bundle: string; cacheFile: () => string } {
  const root = join(directory, name);
  mkdirSync(join(root, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'bin'), join(root, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'dist', 'bundle'), join(root, 'dist', 'bundle'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(root, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
  const bundle = join(root, 'dist', 'bundle', 'reins.cjs');
  const cacheFile = () => {
    const caches = readdirSync(join(root, 'dist', 'bundle')).filter((file) => file.endsWith('.v8-cache'));
    expect(caches, 'the build wrote one code cache').toHaveLength(1);
    return join(root, 'dist', 'bundle', caches[0] as string);
  };
  return { root, bundle, cacheFile };
}

/** What became of the cache when a fresh node loads `bundle` (bin/load-bundle.js's `cache`). */
function cacheOutcome(bundle: string): string {
  const run = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { loadBundle } from ${JSON.stringify(LOADER)}; process.stdout.write(loadBundle(${JSON.stringify(bundle)}).cache);`,
    ],
    { encoding: 'utf8' },
  );
  expect(run.status, run.stderr).toBe(0);
  return run.stdout;
}

/** `reins policy check` through a copy's bin/reins.js. */
function policyCheck(root: string): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [join(root, 'bin', 'reins.js'), 'policy', 'check', POLICY], {
    encoding: 'utf8',
    env: { ...process.env, REINS_DATABASE_URL: '', REINS_CONFIG: '' },
  });
}

describe('the CLI code cache', () => {
  it('the build writes a cache that V8 takes for the bundle it was made for', () => {
    const { bundle, cacheFile } = packageCopy('as-built');
    expect(readFileSync(cacheFile()).length).toBeGreaterThan(100_000);
    expect(cacheOutcome(bundle)).toBe('accepted');
  }, 60_000);

  it('a cache made for another build of the same length is not used', () => {
    // a rebuild whose script has the old one's length: V8 would take the old cache for it
    const { root, bundle, cacheFile } = packageCopy('rebuilt');
    const source = readFileSync(bundle, 'utf8');
    const id = /\/\/# reins-build=([0-9a-f]{32})/.exec(source)?.[1] as string;
    expect(id).toBeDefined();
    const otherId = id.replace(/^./, (first) => (first === '0' ? '1' : '0'));
    writeFileSync(bundle, source.replace(`//# reins-build=${id}`, `//# reins-build=${otherId}`));
    const oldCache = cacheFile();
    expect(cacheOutcome(bundle)).toBe('absent');
    // the same cache under the new id is taken: the id in the name is what keeps a stale cache out
    renameSync(oldCache, oldCache.replace(id, otherId));
    expect(cacheOutcome(bundle)).toBe('accepted');
    expect(policyCheck(root).stdout).toMatch(/^ok: /);
  }, 60_000);

  it('a cache V8 refuses (damaged, or of another Node) costs speed only: the command runs and says the same', () => {
    const { root, bundle, cacheFile } = packageCopy('damaged');
    const file = cacheFile();
    const damaged = readFileSync(file);
    damaged.fill(0x5a, 0, 64);
    writeFileSync(file, damaged);
    expect(cacheOutcome(bundle)).toBe('rejected');
    const run = policyCheck(root);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^ok: .*policy\.yaml: \d+ rules/);
    // and without any cache
    rmSync(file);
    expect(cacheOutcome(bundle)).toBe('absent');
    expect(policyCheck(root).stdout).toBe(run.stdout);
  }, 60_000);
});
