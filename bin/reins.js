#!/usr/bin/env node
// Entry point of the `reins` command: runs the CLI's bundle, dist/bundle/reins.cjs (scripts/bundle-cli.ts,
// the last step of `npm run build`, which `npm ci` runs via `prepare`), with the code cache the build made
// for it (bin/load-bundle.js). Nothing else stands in for a missing bundle.
import { existsSync, mkdirSync } from 'node:fs';
import module from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBundle } from './load-bundle.js';

// The CLI's script has the build's code cache; its worker threads are ES modules (the SQLite writer, the
// verifier), which Node 22.1 and later can cache between runs. That cache is code this process runs: it
// lives in a directory of the user's own (0700), never in the shared temporary directory Node would
// pick, where another local user could put it first. NODE_DISABLE_COMPILE_CACHE turns it off.
if (module.enableCompileCache !== undefined && process.env.NODE_COMPILE_CACHE === undefined) {
  const cache = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'reins', 'node-compile-cache');
  try {
    mkdirSync(cache, { recursive: true, mode: 0o700 });
    module.enableCompileCache(cache);
  } catch {
    // no cache: the worker threads compile their code at every start, as on Node 20
  }
}
const bundle = fileURLToPath(new URL('../dist/bundle/reins.cjs', import.meta.url));
if (existsSync(bundle)) {
  process.exitCode = await loadBundle(bundle).exports.runCli(process.argv);
} else {
  process.stderr.write(`reins: the CLI is not built: ${bundle} is missing (run \`npm run build\`)\n`);
  process.exitCode = 1;
}
