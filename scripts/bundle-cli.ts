/**
 * @module scripts/bundle-cli
 * The last step of `npm run build`: bundles the `reins` command into dist/bundle/ with esbuild, and
 * makes the V8 code cache it starts with (issue 20: a desktop client starts `reins mcp` for every
 * conversation, CI runs `reins policy check` on every push). On Node 20 a start is mostly compiling
 * code: loading a few files instead of hundreds of modules helps, and V8's code cache (which Node
 * offers for scripts, not for ES modules) takes most of the compiling away. dist/ from tsc stays what
 * the library entry points ("exports") are.
 *
 * - The CLI: `reins.cjs`, one CommonJS script (bin/reins.js runs it with bin/load-bundle.js). Every
 *   `import()` of an action stays lazy: the modules it reaches run only when the action imports them
 *   (esbuild wraps each in a function named after its path), so `reins --help` runs the command tree
 *   alone. `import.meta.url` is the script's own URL, passed in by the loader.
 * - The worker threads the code starts by URL (store/sqlite/start-worker.ts: `./<name>.js` next to the
 *   module that starts them, here the CLI's script): ES modules, built on their own, small.
 * - External, loaded from node_modules as before: native addons and packages the bundle must not
 *   hold (better-sqlite3; pg, whose optional pg-native is looked up at run time).
 * - Names kept (`keepNames`): bundling renames clashing top-level names, and code reads names (error
 *   names, cel-js types by their constructors'). Whitespace and syntax are minified (fewer bytes to
 *   parse), identifiers are not (stack traces and CPU profiles stay readable).
 * - zod's locales: zod ships every language's messages and loads them all, though only English (its
 *   default, set by zod itself) is used; nothing in Reins or its packages selects another. The bundle
 *   keeps English only, half of zod's code.
 * - `metafile.json`: which source modules and packages each output file holds (test/cli-startup.test.ts
 *   reads it).
 * - The code cache, `reins.cjs.v8-cache` (its header says for which script and Node it was made:
 *   bin/load-bundle.js): scripts/code-cache-training.mjs loads the new script without a cache and
 *   serves `reins mcp` (after `--help` and `policy check`) to an SDK client here, which lists the tools
 *   of server-everything and calls one; V8's code for every function that ran is then written. The
 *   training runs in an environment of its own (trainingEnv), bounded in time. A build whose training
 *   fails fails, and leaves the CLI runnable without a cache: a CLI that starts slowly is a defect to
 *   see, not a reason to have none.
 *
 * The directory sits two levels below the package root, as dist/cli/ does: modules that find the
 * package's files relative to themselves (package.json, console/, examples/demo/dist) find them from
 * either.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { type BuildOptions, build, type Metafile, type Plugin } from 'esbuild';
import { codeCachePath } from '../bin/load-bundle.js';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = join(ROOT, 'dist', 'bundle');
const CLI = join(OUT, 'reins.cjs');
const TRAINER = join(ROOT, 'scripts', 'code-cache-training.mjs');

/** Only zod's English messages (see the module comment). */
const zodEnglishOnly: Plugin = {
  name: 'zod-english-only',
  setup(builder) {
    builder.onLoad({ filter: /[\\/]node_modules[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, (args) => ({
      contents: "export { default as en } from './en.js';\n",
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
};

/**
 * In the CLI's script, `import()` cannot reach Node's loader once V8 takes the code from the cache:
 * esbuild turns every `import()` into a `require()` (Node's built-in modules, the bundled ones), and
 * cli/import-module.ts, which imports a file outside the bundle (the demo's build), asks the module
 * that loaded the script for it: bin/load-bundle.js passes `__reinsImportModule`.
 */
const importThroughLoader: Plugin = {
  name: 'import-through-loader',
  setup(builder) {
    builder.onLoad({ filter: /[\\/]src[\\/]cli[\\/]import-module\.ts$/ }, () => ({
      contents: 'export function importModule(url) { return __reinsImportModule(url); }\n',
      loader: 'js',
    }));
  },
};

const COMMON: BuildOptions = {
  absWorkingDir: ROOT,
  outdir: OUT,
  bundle: true,
  platform: 'node',
  target: 'node20.19',
  external: ['better-sqlite3', 'pg'],
  keepNames: true,
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  sourcesContent: false,
  metafile: true,
  plugins: [zodEnglishOnly],
  logLevel: 'warning',
};

/** Builds the CLI's script and the worker threads' modules; returns their metafile. */
async function bundle(): Promise<Metafile> {
  const cli = await build({
    ...COMMON,
    entryPoints: { reins: 'src/cli/main.ts' },
    format: 'cjs',
    outExtension: { '.js': '.cjs' },
    supported: { 'dynamic-import': false },
    plugins: [zodEnglishOnly, importThroughLoader],
    define: { 'import.meta.url': '__reinsModuleUrl' },
    // a parameter of the function bin/load-bundle.js wraps the script in (a banner here would come
    // before esbuild's "use strict" and leave the whole script sloppy)
  });
  const workers = await build({
    ...COMMON,
    entryPoints: {
      'sqlite-audit-worker': 'src/store/sqlite/sqlite-audit-worker.ts',
      'sqlite-verify-worker': 'src/store/sqlite/sqlite-verify-worker.ts',
    },
    format: 'esm',
    splitting: true,
    // the CommonJS packages in the bundle require Node's built-in modules
    banner: {
      js: "import { createRequire as __reinsCreateRequire } from 'node:module'; const require = __reinsCreateRequire(import.meta.url);",
    },
  });
  // a warning (a require esbuild cannot follow, an import it cannot resolve) is a bundle that may fail at run time
  const warnings = cli.warnings.length + workers.warnings.length;
  if (warnings > 0) throw new Error(`${warnings} warning(s), printed above`);
  if (cli.metafile === undefined || workers.metafile === undefined)
    throw new Error('esbuild wrote no metafile');
  return {
    inputs: { ...cli.metafile.inputs, ...workers.metafile.inputs },
    outputs: { ...cli.metafile.outputs, ...workers.metafile.outputs },
  };
}

const TRAINING_POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: code-cache-training }
tools:
  - { server: everything, name: "*", risk: low, effects: [read] }
rules:
  - { id: everything, effect: allow, principal: { agents: trainer }, tool: { server: everything }, reason: the build lists and calls tools }
`;

/** How long the training may take in all, and registering its agent (a few seconds when all is well). */
const TRAINING_TIMEOUT_MS = 120_000;

/**
 * The training's environment: enough to run node, nothing of the builder's deployment. No REINS_* (a
 * database, a reins.yaml, the developer's checkpoint keys), no OTEL_* (spans of the training sent to a
 * collector), no NODE_OPTIONS (V8 flags in it would make a cache that a plain `node` rejects).
 */
function trainingEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'SYSTEMROOT', 'LANG'])
    if (process.env[name] !== undefined) env[name] = process.env[name] as string;
  return env;
}

/** `promise`, or a failure naming `what` once `ms` have passed. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Registers the training agent in a new store of `work`. */
function registerTrainingAgent(work: string, db: string, env: Record<string, string>): void {
  const created = spawnSync(
    process.execPath,
    [
      join(ROOT, 'bin', 'reins.js'),
      'agents',
      'create',
      'trainer',
      '--owner',
      'build@localhost',
      '--scopes',
      'everything/*',
      '--db',
      db,
    ],
    { cwd: work, env, encoding: 'utf8', timeout: TRAINING_TIMEOUT_MS },
  );
  if (created.status !== 0)
    throw new Error(
      `registering the training agent: exit ${created.status ?? created.signal}\n${created.stderr}`,
    );
}

/** Runs the new CLI once under an SDK client, so that its code cache holds what a start compiles. */
async function trainCodeCache(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'reins-code-cache-'));
  const env = trainingEnv();
  let stderr = '';
  try {
    const policy = join(work, 'policy.yaml');
    const db = join(work, 'reins.db');
    writeFileSync(policy, TRAINING_POLICY);
    registerTrainingAgent(work, db, env);
    const everything = createRequire(import.meta.url).resolve(
      '@modelcontextprotocol/server-everything/dist/index.js',
    );
    const mcp = ['mcp', '--agent', 'trainer', '--policy', policy, '--db', db, '--name', 'everything'];
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [TRAINER, CLI, policy, ...mcp, '--', process.execPath, everything],
      cwd: work,
      env,
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const client = new Client({ name: 'reins-code-cache-training', version: '0.1.0' });
    try {
      await within(trainingSession(client, transport), TRAINING_TIMEOUT_MS, 'the training run');
    } finally {
      // waits for the child to exit, which writes the cache
      await client.close();
    }
    if (!existsSync(codeCachePath(CLI))) throw new Error('the training run wrote no code cache');
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(stderr === '' ? message : `${message}\nthe training run's stderr:\n${stderr}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** What the training client does: connect, list the tools, call one. */
async function trainingSession(client: Client, transport: StdioClientTransport): Promise<void> {
  await client.connect(transport);
  const { tools } = await client.listTools();
  // the gateway may name the upstream's tools after their server
  const echo = tools.find((tool) => tool.name.endsWith('echo'));
  if (echo === undefined) throw new Error('server-everything offers no echo tool');
  const echoed = await client.callTool({ name: echo.name, arguments: { message: 'training' } });
  if (echoed.isError) throw new Error(`the training call failed: ${JSON.stringify(echoed.content)}`);
}

async function main(): Promise<void> {
  rmSync(OUT, { recursive: true, force: true });
  try {
    const metafile = await bundle();
    writeFileSync(join(OUT, 'metafile.json'), JSON.stringify(metafile));
  } catch (error) {
    // removed, so that bin/reins.js says the CLI is not built rather than run a bundle that may fail
    rmSync(OUT, { recursive: true, force: true });
    throw error;
  }
  // a failed training fails the build, and leaves the CLI runnable (compiled from source at every start)
  await trainCodeCache();
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bundling the CLI failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exitCode = 1;
});
