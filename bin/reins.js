#!/usr/bin/env node
// Entry point of the `reins` command: runs the compiled CLI (built by `npm run build`, which `npm ci` runs via `prepare`).
import { runCli } from '../dist/cli/main.js';

process.exitCode = await runCli(process.argv);
