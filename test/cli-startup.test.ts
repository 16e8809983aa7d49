/**
 * @module test/cli-startup.test
 * Finding (issue 20): `reins --help` loaded every command's modules (the MCP SDK, SQLite and
 * PostgreSQL, OpenTelemetry, hono, ...) before printing a line, and so did `reins policy check` in CI
 * and `reins mcp`, which a desktop client starts for every conversation. The command tree is built from
 * commander alone and each action loads what it needs when it runs, and the CLI runs from its bundle
 * (dist/bundle/reins.cjs, scripts/bundle-cli.ts: one script, in which each module an action imports is
 * wrapped in a function that runs when the action imports it). This guards that structure, not a
 * timing: the built CLI runs with a recorder (test/support/module-recorder.mjs) that lists every file
 * the process loads and, from V8's coverage, which of the bundle's modules ran; the bundle's metafile
 * says which modules and packages each of its files holds; and each command must run nothing it does
 * not use.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin/reins.js');
const RECORDER = join(ROOT, 'test/support/module-recorder.mjs');
const DIST = join(ROOT, 'dist');
const BUNDLE = join(DIST, 'bundle');
const EVERYTHING = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-everything/dist/index.js',
);
const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: startup }
tools:
  - { server: everything, name: "*", risk: low, effects: [read] }
rules:
  - { id: everything, effect: allow, tool: { server: everything }, reason: test server }
`;

/** What the command tree may load: commander, and Reins' own tree (cli/main, cli/commands, ...). */
const TREE_PACKAGES = ['commander'];
const TREE_MODULES = [
  /^cli\/(main|command-context|io|option-values)\.js$/,
  /^cli\/commands\/[a-z-]+\.js$/,
  /^spec\/(errors|duration-text)\.js$/,
];
/** Packages of stores, the MCP SDK, telemetry, HTTP and sign-in: none is needed to check a policy. */
const NOT_FOR_POLICY_CHECK = [
  /^better-sqlite3$/,
  /^pg(-.*)?$/,
  /^@modelcontextprotocol\//,
  /^@opentelemetry\//,
  /^prom-client$/,
  /^(hono|@hono\/.*)$/,
  /^jose$/,
  /^openid-client$/,
  /^ajv$/,
];
/** `reins mcp` serves stdio from SQLite or PostgreSQL: no HTTP, no control plane, no OTLP exporter unless configured. */
const NOT_FOR_MCP = [/^pg(-.*)?$/, /^(hono|@hono\/.*)$/, /^openid-client$/, /^@opentelemetry\/(?!api$)/];
/** The control plane (api/, but for the user tokens operators act with), the OTLP exporter, the HTTP front. */
const NOT_FOR_MCP_MODULES = [
  /^api\/(?!users\.js$)/,
  /^export\/otel-export\.js$/,
  /^gateway\/http-server\.js$/,
];

let directory: string;

beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), 'reins-cli-startup-'));
  writeFileSync(join(directory, 'policy.yaml'), POLICY);
});

afterAll(() => {
  if (directory) rmSync(directory, { recursive: true, force: true });
});

interface Loaded {
  /** npm packages, by name (`@scope/name`). */
  readonly packages: Set<string>;
  /** Reins' own modules, by their path in dist/ (`cli/main.js`), also when the bundle holds them. */
  readonly modules: Set<string>;
  /** Files of the bundle loaded, relative to dist/bundle/ (`sqlite-audit-worker.js`, `chunk-....js`). */
  readonly bundleFiles: Set<string>;
  /** Whether the CLI's script (dist/bundle/reins.cjs) ran. */
  readonly cliScriptRan: boolean;
  /** Files of dist/ loaded from outside the bundle (tsc's output: the library, not the CLI). */
  readonly outsideBundle: Set<string>;
}

interface Metafile {
  readonly outputs: Record<
    string,
    {
      readonly inputs: Record<string, unknown>;
      readonly imports: readonly {
        readonly path: string;
        readonly kind: string;
        readonly external?: boolean;
      }[];
    }
  >;
}

/** The bundle's metafile (written by `npm run build`): the inputs of each output file. */
function bundleContents(): Metafile['outputs'] {
  return (JSON.parse(readFileSync(join(BUNDLE, 'metafile.json'), 'utf8')) as Metafile).outputs;
}

const PACKAGE_IN_PATH = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//;
const CLI_SCRIPT = 'dist/bundle/reins.cjs';

/** Adds a source path (`src/cli/main.ts`, `node_modules/zod/...`) to the packages or modules it is of. */
function addInput(loaded: Loaded, input: string): void {
  const packageName = PACKAGE_IN_PATH.exec(input);
  if (packageName) loaded.packages.add(packageName[1] as string);
  else if (input.startsWith('src/')) loaded.modules.add(input.slice(4).replace(/\.ts$/, '.js'));
}

/**
 * The packages and Reins modules in a recorder's log (test/support/module-recorder.mjs): of the CLI's
 * script, the modules whose wrapper ran and those esbuild did not wrap (they run with the script); of
 * other bundle files (the worker threads'), every input they hold. `beforeSpawn`: only what ran or was
 * loaded before the process started its first child.
 */
function loadedIn(log: string, { beforeSpawn = false } = {}): Loaded {
  const lines = readFileSync(log, 'utf8').split('\n');
  const outputs = bundleContents();
  const wrapped = new Set(
    lines.filter((line) => /^(ran|idle) /.test(line)).map((line) => line.slice(line.indexOf(' ') + 1)),
  );
  const cliScriptRan = lines.some((line) => line.startsWith('script ') && line.endsWith(`/${CLI_SCRIPT}`));
  const loaded: Loaded = {
    packages: new Set(),
    modules: new Set(),
    bundleFiles: new Set(),
    cliScriptRan,
    outsideBundle: new Set(),
  };
  if (cliScriptRan) {
    for (const input of Object.keys(outputs[CLI_SCRIPT]?.inputs ?? {}))
      if (!wrapped.has(input)) addInput(loaded, input);
  }
  for (const line of lines) {
    if (line.startsWith('spawn ') && beforeSpawn) break;
    if (line === '' || /^(spawn|script|idle) /.test(line)) continue;
    if (line.startsWith('ran ')) {
      addInput(loaded, line.slice('ran '.length));
      continue;
    }
    const path = line.startsWith('file:') ? fileURLToPath(line) : line;
    if (PACKAGE_IN_PATH.test(path)) addInput(loaded, path);
    else if (path.startsWith(`${BUNDLE}/`)) {
      const file = path.slice(BUNDLE.length + 1);
      loaded.bundleFiles.add(file);
      const output = outputs[`dist/bundle/${file}`];
      if (output === undefined) throw new Error(`${file} is not in the bundle's metafile`);
      for (const input of Object.keys(output.inputs)) addInput(loaded, input);
    } else if (path.startsWith(`${DIST}/`)) loaded.outsideBundle.add(path.slice(DIST.length + 1));
  }
  return loaded;
}

/** The source modules and packages an entry of the bundle loads before it runs (its static imports). */
function entryLoads(entry: string): { packages: Set<string>; modules: Set<string> } {
  const outputs = bundleContents();
  const files = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const imported of outputs[file]?.imports ?? [])
      if (imported.kind === 'import-statement' && !imported.external) visit(imported.path);
  };
  visit(`dist/bundle/${entry}`);
  const packages = new Set<string>();
  const modules = new Set<string>();
  for (const file of files) {
    for (const input of Object.keys(outputs[file]?.inputs ?? {})) {
      const packageName = PACKAGE_IN_PATH.exec(input);
      if (packageName) packages.add(packageName[1] as string);
      else if (input.startsWith('src/')) modules.add(input.slice(4).replace(/\.ts$/, '.js'));
    }
  }
  return { packages, modules };
}

/** Never a shared database or a deployment from the developer's environment. */
function cleanEnv(): Record<string, string> {
  return { ...(process.env as Record<string, string>), REINS_DATABASE_URL: '', REINS_CONFIG: '' };
}

/** A new log for the recorder, and the environment that names it. */
function recorded(): { log: string; env: Record<string, string> } {
  const log = join(directory, `modules-${Math.random().toString(36).slice(2)}.log`);
  writeFileSync(log, '');
  return { log, env: { ...cleanEnv(), REINS_TEST_MODULE_LOG: log } };
}

/** Runs `reins <args>` with the recorder; returns its output and what it loaded. */
function reinsLoading(...args: string[]): { status: number | null; stdout: string; loaded: Loaded } {
  const { log, env } = recorded();
  const run = spawnSync(process.execPath, ['--import', RECORDER, BIN, ...args], {
    cwd: directory,
    env,
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`reins ${args.join(' ')}: exit ${run.status}\n${run.stderr}`);
  return { status: run.status, stdout: run.stdout, loaded: loadedIn(log) };
}

function matching(names: Iterable<string>, patterns: readonly RegExp[]): string[] {
  return [...names].filter((name) => patterns.some((pattern) => pattern.test(name))).sort();
}

describe('what starting reins loads', () => {
  it('`reins --help` builds the command tree from commander alone', () => {
    const { stdout, loaded } = reinsLoading('--help');
    expect(stdout).toContain('Usage: reins');
    expect(stdout).toContain('mcp [options] <command...>');
    expect([...loaded.packages].sort()).toEqual(TREE_PACKAGES);
    const outside = [...loaded.modules].filter((module) => !TREE_MODULES.some((tree) => tree.test(module)));
    expect(outside, 'modules of actions loaded while building the tree').toEqual([]);
    expect(loaded.modules).toContain('cli/commands/mcp.js');
    expect(loaded.cliScriptRan, 'the CLI runs from its bundle').toBe(true);
    expect([...loaded.outsideBundle], 'the CLI runs from its bundle').toEqual([]);
  }, 60_000);

  it('`reins policy check <file>` loads the policy compiler, and no store, SDK, telemetry or HTTP', () => {
    const { stdout, loaded } = reinsLoading('policy', 'check', join(ROOT, 'examples/gateway/policy.yaml'));
    expect(stdout).toMatch(/^ok: .*policy\.yaml: \d+ rules/);
    // the recorder sees ES modules and CommonJS ones alike (zod is ESM, yaml CommonJS)
    expect(loaded.packages).toContain('zod');
    expect(loaded.packages).toContain('yaml');
    expect(matching(loaded.packages, NOT_FOR_POLICY_CHECK)).toEqual([]);
    expect(matching(loaded.modules, [/^(store|gateway|harness|telemetry|api|export)\//])).toEqual([]);
    expect(matching(loaded.modules, [/^cli\/(deployment|audit-store|gateway-process)\.js$/])).toEqual([]);
    expect(loaded.modules).toContain('cli/policy-commands.js');
    // nor the schemas of the audit records (each built when its module loads)
    expect(matching(loaded.modules, [/^spec\/(audit-event|records\/)/])).toEqual([]);
    expect([...loaded.outsideBundle]).toEqual([]);
  }, 60_000);

  it('`reins mcp` serves stdio without the HTTP front, PostgreSQL, the control plane or an OTLP exporter', async () => {
    const db = join(directory, 'reins.db');
    const created = spawnSync(
      process.execPath,
      [BIN, 'agents', 'create', 'desk', '--owner', 'o@example.com', '--scopes', 'everything/*', '--db', db],
      { cwd: directory, env: cleanEnv(), encoding: 'utf8' },
    );
    expect(created.status, created.stderr).toBe(0);
    const { log, env } = recorded();
    const mcp = ['mcp', '--agent', 'desk', '--policy', join(directory, 'policy.yaml'), '--db', db];
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ['--import', RECORDER, BIN, ...mcp, '--name', 'everything', '--', process.execPath, EVERYTHING],
      cwd: directory,
      env,
      stderr: 'pipe',
    });
    const client = new Client({ name: 'cli-startup-test', version: '0.1.0' });
    try {
      await client.connect(transport);
      const { tools } = await client.listTools();
      expect(tools.length).toBeGreaterThan(0);
    } finally {
      // waits for reins to exit: its recorder writes the CommonJS modules at exit
      await client.close();
    }
    const loaded = loadedIn(log);
    expect(loaded.packages).toContain('@modelcontextprotocol/sdk');
    expect(loaded.packages).toContain('better-sqlite3');
    expect(matching(loaded.packages, NOT_FOR_MCP)).toEqual([]);
    expect(matching(loaded.modules, NOT_FOR_MCP_MODULES)).toEqual([]);
    // and no other command's actions
    expect(matching(loaded.modules, [/^cli\/(audit|agent|user|backup|oversight)-commands\.js$/])).toEqual([]);
    // the upstream starts once the policy is compiled and the agent checked; what serving needs besides
    // (the audit log and its keys, oversight, the harness, the MCP server, metrics) loads while it starts
    const beforeUpstream = loadedIn(log, { beforeSpawn: true });
    expect(beforeUpstream.modules).toContain('policy/compile-policy.js');
    expect(beforeUpstream.modules).toContain('store/sqlite/sqlite-identity-store.js');
    expect(
      matching(beforeUpstream.modules, [
        /^harness\/harness\.js$/,
        /^gateway\/gateway\.js$/,
        /^store\/sqlite\/sqlite-(audit-log|oversight-store)\.js$/,
        // where the keys are is part of finding the deployment; loading them is the audit log's
        /^keys\/(?!key-resolution\.js$)/,
        /^memory\//,
        /^telemetry\/metrics\.js$/,
        /^cli\/(audit-store|oversight-wiring|monitor-wiring)\.js$/,
      ]),
    ).toEqual([]);
    expect(matching(beforeUpstream.packages, [/^prom-client$/, /^jose$/])).toEqual([]);
    expect(loaded.modules).toContain('harness/harness.js');
    // the audit log's writer thread runs from the bundle too
    expect(loaded.bundleFiles).toContain('sqlite-audit-worker.js');
    expect([...loaded.outsideBundle]).toEqual([]);
  }, 120_000);
});

describe('the threads of the SQLite audit log', () => {
  it('the writer thread loads no schemas: it writes what the main thread validated', () => {
    const loaded = entryLoads('sqlite-audit-worker.js');
    expect(loaded.modules).toContain('store/sqlite/sqlite-audit-writer.js');
    expect([...loaded.packages]).not.toContain('zod');
    // the modules that build schemas when they load
    expect(matching(loaded.modules, [/^spec\/(?!errors|tool-key|key-id|checkpoint-message)/])).toEqual([]);
  });
});

describe('bin/reins.js', () => {
  it('without the bundle says to build and runs nothing else (not the tsc output beside it)', () => {
    // a copy of the package's layout: bin/ and a dist/ with tsc's CLI but no bundle
    const root = join(directory, 'unbuilt');
    mkdirSync(join(root, 'bin'), { recursive: true });
    mkdirSync(join(root, 'dist', 'cli'), { recursive: true });
    copyFileSync(BIN, join(root, 'bin', 'reins.js'));
    copyFileSync(join(ROOT, 'bin', 'load-bundle.js'), join(root, 'bin', 'load-bundle.js'));
    writeFileSync(join(root, 'package.json'), '{"type":"module"}');
    writeFileSync(
      join(root, 'dist', 'cli', 'main.js'),
      "export async function runCli() { process.stdout.write('ran the tsc output'); return 0; }",
    );
    const run = spawnSync(process.execPath, [join(root, 'bin', 'reins.js'), '--help'], {
      cwd: directory,
      env: cleanEnv(),
      encoding: 'utf8',
    });
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(join(root, 'dist', 'bundle', 'reins.cjs'));
    expect(run.stderr).toContain('npm run build');
    expect(run.stderr).not.toContain('    at ');
    expect(run.status).toBe(1);
  }, 60_000);
});
