#!/usr/bin/env node
// Entry point of the `reins` command: runs the CLI's bundle, dist/bundle/ (scripts/bundle-cli.ts, the last
// step of `npm run build`, which `npm ci` runs via `prepare`). Nothing else stands in for a missing bundle.
import { existsSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

// Node 22.1 and later keep the compiled code of the modules on disk between runs (a desktop client starts
// `reins mcp` for every conversation); Node 20 has no such cache, and NODE_DISABLE_COMPILE_CACHE turns it off.
module.enableCompileCache?.();
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
