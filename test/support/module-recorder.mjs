// Loaded with `node --import` by test/cli-startup.test.ts: records every module the process loads in
// the file REINS_TEST_MODULE_LOG names, one URL or path a line: ES modules (and the CommonJS entry
// points they import) through a load hook, the CommonJS modules those require from require's cache at
// exit. Also a line `spawn <command>` when the process starts a child (node:child_process spawn, as the
// MCP SDK's stdio transport does), in its place among the modules: what was loaded before the child
// started is above it. Plain JavaScript, so that the process loads nothing the CLI itself would not
// (no tsx).
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const log = process.env.REINS_TEST_MODULE_LOG;
if (log) {
  register('./module-recorder-hooks.mjs', import.meta.url);
  const require = createRequire(import.meta.url);
  const childProcess = require('node:child_process');
  const spawn = childProcess.spawn;
  childProcess.spawn = function recordedSpawn(command, ...rest) {
    appendFileSync(log, `spawn ${command}\n`);
    return spawn.call(this, command, ...rest);
  };
  process.on('exit', () => {
    appendFileSync(
      log,
      Object.keys(require.cache)
        .map((path) => `${path}\n`)
        .join(''),
    );
  });
}
