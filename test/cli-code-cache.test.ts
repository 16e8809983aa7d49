/**
 * @module test/cli-code-cache.test
 * The CLI starts with the V8 code cache its build made (bin/load-bundle.js, scripts/bundle-cli.ts; issue
 * 20). The cache is code the process runs, so what is guarded here is when it is used: only for the
 * script and the Node it was made for (V8 itself checks no more than the source's length, its version
 * without Node's patches and its flags, and damaged bytes crash it), and a cache that is not used costs
 * speed, never the command. Each case runs `bin/reins.js` in a fresh `node`, as users do, with
 * `REINS_DEBUG=code-cache` saying what became of the cache.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCodeCache } from '../bin/load-bundle.js';

const ROOT = resolve(import.meta.dirname, '..');
const POLICY = join(ROOT, 'examples', 'gateway', 'policy.yaml');

let directory: string;

beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), 'reins-code-cache-'));
});

afterAll(() => {
  if (directory) rmSync(directory, { recursive: true, force: true });
});

interface PackageCopy {
  readonly root: string;
  readonly script: string;
  readonly cache: string;
}

/** A copy of the built package (bin/, dist/bundle/, package.json) to change: the real one stays as built. */
function packageCopy(name: string): PackageCopy {
  const root = join(directory, name);
  mkdirSync(join(root, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'bin'), join(root, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'dist', 'bundle'), join(root, 'dist', 'bundle'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(root, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
  const script = join(root, 'dist', 'bundle', 'reins.cjs');
  return { root, script, cache: `${script}.v8-cache` };
}

/** `reins policy check` through a copy's bin/reins.js: its output, and what became of the cache. */
function policyCheck(
  copy: PackageCopy,
  { env = {}, nodeOptions = [] }: { env?: Record<string, string>; nodeOptions?: string[] } = {},
): { status: number | null; stdout: string; cache: string | undefined } {
  const run = spawnSync(
    process.execPath,
    [...nodeOptions, join(copy.root, 'bin', 'reins.js'), 'policy', 'check', POLICY],
    {
      encoding: 'utf8',
      // a start that hangs fails here instead of holding the test's worker
      timeout: 30_000,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: directory,
        REINS_DEBUG: 'code-cache',
        REINS_DATABASE_URL: '',
        REINS_CONFIG: '',
        ...env,
      },
    },
  );
  expect(run.status, run.stderr).toBe(0);
  expect(run.stdout).toMatch(/^ok: .*policy\.yaml: \d+ rules/);
  return { status: run.status, stdout: run.stdout, cache: /reins: code cache (\S+)/.exec(run.stderr)?.[1] };
}

/** The cache file's header line, as JSON. */
function header(copy: PackageCopy): Record<string, unknown> {
  const file = readFileSync(copy.cache);
  return JSON.parse(file.subarray(0, file.indexOf(0x0a)).toString('utf8')) as Record<string, unknown>;
}

/** Writes the cache with its header changed by `change`, the compiled code as it was. */
function withHeader(copy: PackageCopy, change: (header: Record<string, unknown>) => void): void {
  const file = readFileSync(copy.cache);
  const changed = header(copy);
  change(changed);
  writeFileSync(
    copy.cache,
    Buffer.concat([Buffer.from(`${JSON.stringify(changed)}\n`), file.subarray(file.indexOf(0x0a) + 1)]),
  );
}

describe('the CLI code cache', () => {
  it('the build writes a cache, and `reins` starts with it', () => {
    const copy = packageCopy('as-built');
    expect(header(copy)).toMatchObject({ node: process.version, arch: process.arch });
    expect(readFileSync(copy.cache).length).toBeGreaterThan(100_000);
    expect(policyCheck(copy).cache).toBe('accepted');
    expect(policyCheck(copy, { env: { REINS_CODE_CACHE: 'off' } }).cache).toBe('off');
  }, 60_000);

  it('an edit of the script that keeps its length does not run the old code', () => {
    // V8 would take the old cache for it and run the old code (its check is the length)
    const copy = packageCopy('edited');
    const source = readFileSync(copy.script, 'utf8');
    const edited = source.replace('Runtime governance for AI agents', 'RUNTIME GOVERNANCE FOR AI AGENTS');
    expect(edited).not.toBe(source);
    writeFileSync(copy.script, edited);
    expect(policyCheck(copy).cache).toBe('stale');
  }, 60_000);

  it('a cache made by another Node (a patch release keeps V8 version) is not used', () => {
    const copy = packageCopy('other-node');
    withHeader(copy, (changed) => {
      changed.node = 'v20.0.0-other';
    });
    expect(policyCheck(copy).cache).toBe('stale');
  }, 60_000);

  it('a damaged cache is not given to V8 (which would crash on it): the command runs and says the same', () => {
    const copy = packageCopy('damaged');
    const expected = policyCheck(copy).stdout;
    const file = readFileSync(copy.cache);
    // bytes in the middle of the compiled code: V8 checks none of them in a release build
    file.fill(0x5a, file.length >> 1, (file.length >> 1) + 100);
    writeFileSync(copy.cache, file);
    const damaged = policyCheck(copy);
    expect(damaged.cache).toBe('damaged');
    expect(damaged.stdout).toBe(expected);
    writeFileSync(copy.cache, 'not a cache at all');
    expect(policyCheck(copy).cache).toBe('damaged');
    rmSync(copy.cache);
    expect(policyCheck(copy).cache).toBe('absent');
    mkdirSync(copy.cache);
    expect(policyCheck(copy).cache).toBe('unreadable');
    // a FIFO, which a read would wait on for ever
    rmSync(copy.cache, { recursive: true });
    expect(spawnSync('mkfifo', [copy.cache]).status).toBe(0);
    expect(policyCheck(copy).cache).toBe('unreadable');
  }, 60_000);

  it('a cache made under other V8 flags is not used', () => {
    const copy = packageCopy('other-flags');
    expect(policyCheck(copy, { nodeOptions: ['--max-old-space-size=4096'] }).cache).toBe('stale');
  }, 60_000);

  it('a cache V8 refuses after every check of ours passed costs speed only', () => {
    // the compiled code of this script, given for a longer one under a header made for that one
    const copy = packageCopy('refused');
    const data = readFileSync(copy.cache);
    const longer = Buffer.concat([readFileSync(copy.script), Buffer.from('\n// one more line\n')]);
    writeFileSync(copy.script, longer);
    writeFileSync(copy.cache, encodeCodeCache(longer, data.subarray(data.indexOf(0x0a) + 1)));
    expect(policyCheck(copy).cache).toBe('rejected');
  }, 60_000);

  it('the script runs in strict mode, as the ES modules it is bundled from', () => {
    const copy = packageCopy('strict');
    const probe = join(copy.root, 'probe.mjs');
    // appended to the script (a cache made for it no longer matches: compiled from source, as strict)
    writeFileSync(
      copy.script,
      `${readFileSync(copy.script, 'utf8')}\nmodule.exports.strictProbe = (function () { return this === undefined; })();\n`,
    );
    writeFileSync(
      probe,
      `import { loadBundle } from './bin/load-bundle.js';\nprocess.stdout.write(String(loadBundle(${JSON.stringify(copy.script)}).exports.strictProbe));\n`,
    );
    const run = spawnSync(process.execPath, [probe], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('true');
  }, 60_000);
});
