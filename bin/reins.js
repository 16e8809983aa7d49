#!/usr/bin/env node
// Entry point of the `reins` command: runs the compiled CLI (built by `npm run build`, which `npm ci` runs via `prepare`).
import module from 'node:module';

// Node 22.1 and later keep the compiled code of the modules on disk between runs (a desktop client starts
// `reins mcp` for every conversation); Node 20 has no such cache, and NODE_DISABLE_COMPILE_CACHE turns it off.
module.enableCompileCache?.();
// imported after the cache is on, so that the CLI's own modules use it
const { runCli } = await import('../dist/cli/main.js');

process.exitCode = await runCli(process.argv);
