#!/usr/bin/env node
// Entry point of the `reins` command: runs the CLI's bundle, dist/bundle/ (scripts/bundle-cli.ts, the last
// step of `npm run build`, which `npm ci` runs via `prepare`). Nothing else stands in for a missing bundle.
import { existsSync, mkdirSync } from 'node:fs';
import module from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Node 22.1 and later keep the compiled code of the modules on disk between runs (a desktop client starts
// `reins mcp` for every conversation); Node 20 has no such cache, and NODE_DISABLE_COMPILE_CACHE turns it off.
// The cache is code this process runs: it lives in a directory of the user's own (0700), never in the
// shared temporary directory Node would pick, where another local user could put it first.
if (module.enableCompileCache !== undefined && process.env.NODE_COMPILE_CACHE === undefined) {
  const cache = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'reins', 'node-compile-cache');
  try {
    mkdirSync(cache, { recursive: true, mode: 0o700 });
    module.enableCompileCache(cache);
  } catch {
    // no cache: every start compiles the code, as on Node 20
  }
}
const bundle = new URL('../dist/bundle/reins.js', import.meta.url);
if (existsSync(bundle)) {
  // imported after the cache is on, so that the bundle uses it
  const { runCli } = await import(bundle.href);
  process.exitCode = await runCli(process.argv);
} else {
  process.stderr.write(
    `reins: the CLI is not built: ${fileURLToPath(bundle)} is missing (run \`npm run build\`)\n`,
  );
  process.exitCode = 1;
}
