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
 *   alone. `import.meta.url` is the script's own URL, and the script ends with a random build id.
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
 * - The code cache, `reins-<build id>.v8-cache`: scripts/code-cache-training.mjs loads the new script
 *   without a cache and serves `reins mcp` (after `--help` and `policy check`) to an SDK client here,
 *   which lists the tools of server-everything and calls one; V8's code for every function that ran
 *   is then written. A build whose training fails fails: a CLI that starts slowly is a defect to see.
 *
 * The directory sits two levels below the package root, as dist/cli/ does: modules that find the
 * package's files relative to themselves (package.json, console/, examples/demo/dist) find them from
 * either.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
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
async function bundle(buildId: string): Promise<Metafile> {
  const cli = await build({
    ...COMMON,
    entryPoints: { reins: 'src/cli/main.ts' },
    format: 'cjs',
    outExtension: { '.js': '.cjs' },
    supported: { 'dynamic-import': false },
    plugins: [zodEnglishOnly, importThroughLoader],
    define: { 'import.meta.url': '__reinsModuleUrl' },
    banner: { js: "const __reinsModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
    footer: { js: `//# reins-build=${buildId}` },
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

/** Runs the new CLI once under an SDK client, so that its code cache holds what a start compiles. */
async function trainCodeCache(buildId: string): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'reins-code-cache-'));
  // never the developer's deployment (a shared database, a reins.yaml)
  const env = { ...(process.env as Record<string, string>), REINS_DATABASE_URL: '', REINS_CONFIG: '' };
  try {
    const policy = join(work, 'policy.yaml');
    const db = join(work, 'reins.db');
    writeFileSync(policy, TRAINING_POLICY);
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
      { cwd: work, env, encoding: 'utf8' },
    );
    if (created.status !== 0) throw new Error(`registering the training agent: ${created.stderr}`);
    const everything = createRequire(import.meta.url).resolve(
      '@modelcontextprotocol/server-everything/dist/index.js',
    );
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [
        TRAINER,
        CLI,
        policy,
        'mcp',
        '--agent',
        'trainer',
        '--policy',
        policy,
        '--db',
        db,
        '--name',
        'everything',
        '--',
        process.execPath,
        everything,
      ],
      cwd: work,
      env,
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const client = new Client({ name: 'reins-code-cache-training', version: '0.1.0' });
    try {
      await client.connect(transport);
      const { tools } = await client.listTools();
      // the gateway may name the upstream's tools after their server
      const echo = tools.find((tool) => tool.name.endsWith('echo'));
      if (echo === undefined) throw new Error('server-everything offers no echo tool');
      const echoed = await client.callTool({ name: echo.name, arguments: { message: 'training' } });
      if (echoed.isError) throw new Error(`the training call failed: ${JSON.stringify(echoed.content)}`);
    } finally {
      // waits for the child to exit, which writes the cache
      await client.close();
    }
    if (!existsSync(codeCachePath(CLI, buildId)))
      throw new Error(`the training run wrote no code cache\n${stderr}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  rmSync(OUT, { recursive: true, force: true });
  try {
    const buildId = randomBytes(16).toString('hex');
    const metafile = await bundle(buildId);
    writeFileSync(join(OUT, 'metafile.json'), JSON.stringify(metafile));
    await trainCodeCache(buildId);
  } catch (error) {
    // removed, so that bin/reins.js says the CLI is not built rather than run a bundle that may fail
    rmSync(OUT, { recursive: true, force: true });
    throw error;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bundling the CLI failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exitCode = 1;
});
