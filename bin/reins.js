#!/usr/bin/env node
// Entry point of the `reins` command: runs the CLI's bundle, dist/bundle/reins.cjs (scripts/bundle-cli.ts,
// the last step of `npm run build`, which `npm ci` runs via `prepare`), with the code cache the build made
// for it (bin/load-bundle.js). Nothing else stands in for a missing bundle.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadBundle } from './load-bundle.js';

const bundle = fileURLToPath(new URL('../dist/bundle/reins.cjs', import.meta.url));
if (existsSync(bundle)) {
  process.exitCode = await loadBundle(bundle).exports.runCli(process.argv);
} else {
  process.stderr.write(`reins: the CLI is not built: ${bundle} is missing (run \`npm run build\`)\n`);
  process.exitCode = 1;
}
