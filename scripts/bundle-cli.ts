/**
 * @module scripts/bundle-cli
 * The last step of `npm run build`: bundles the `reins` command into dist/bundle/ with esbuild (issue
 * 20: a desktop client starts `reins mcp` for every conversation, CI runs `reins policy check` on every
 * push). Loading a few files instead of hundreds of modules each resolved and read on its own is most
 * of a start; dist/ from tsc stays what the library entry points ("exports") are.
 *
 * - Entries: the CLI (`reins.js`, run by bin/reins.js) and the worker threads the code starts by URL
 *   (store/sqlite/start-worker.ts: `./<name>.js` next to the module that starts them; here every
 *   file is in one directory, so a chunk finds them as the tsc output does).
 * - ES modules split into chunks: every `import()` of an action stays a separate chunk, loaded when
 *   the action runs, so `reins --help` loads the command tree and no action's code.
 * - External, loaded from node_modules as before: native addons and packages the bundle must not
 *   hold (better-sqlite3; pg, whose optional pg-native is looked up at run time).
 * - Names kept (`keepNames`): bundling renames clashing top-level names, and code reads names (error
 *   names, cel-js types by their constructors'). Whitespace and syntax are minified (fewer bytes to
 *   parse at each start), identifiers are not (stack traces and CPU profiles stay readable).
 * - zod's locales: zod ships every language's messages and loads them all, though only English (its
 *   default, set by zod itself) is used; nothing in Reins or its packages selects another. The bundle
 *   keeps English only, half of zod's code.
 * - `metafile.json`: which source modules and packages each output file holds (test/cli-startup.test.ts
 *   reads it to tell what a command loaded).
 *
 * The directory sits two levels below the package root, as dist/cli/ does: modules that find the
 * package's files relative to themselves (package.json, console/, examples/demo/dist) find them from
 * either.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { build, type Plugin } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = join(ROOT, 'dist', 'bundle');

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

async function main(): Promise<void> {
  rmSync(OUT, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: {
      reins: 'src/cli/main.ts',
      'sqlite-audit-worker': 'src/store/sqlite/sqlite-audit-worker.ts',
      'sqlite-verify-worker': 'src/store/sqlite/sqlite-verify-worker.ts',
    },
    outdir: OUT,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    external: ['better-sqlite3', 'pg'],
    // the CommonJS packages in the bundle require Node's built-in modules
    banner: {
      js: "import { createRequire as __reinsCreateRequire } from 'node:module'; const require = __reinsCreateRequire(import.meta.url);",
    },
    keepNames: true,
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: true,
    plugins: [zodEnglishOnly],
    logLevel: 'warning',
  });
  // a warning (a require esbuild cannot follow, an import it cannot resolve) is a bundle that may fail at run time
  // (removed, so that bin/reins.js says the CLI is not built rather than run it)
  if (result.warnings.length > 0) {
    rmSync(OUT, { recursive: true, force: true });
    throw new Error(`${result.warnings.length} warning(s), printed above`);
  }
  writeFileSync(join(OUT, 'metafile.json'), JSON.stringify(result.metafile));
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bundling the CLI failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exitCode = 1;
});
