// Loaded with `node --import` by test/cli-startup.test.ts: records every module the process loads in
// the file REINS_TEST_MODULE_LOG names, one URL or path a line: ES modules (and the CommonJS entry
// points they import) through a load hook, the CommonJS modules those require from require's cache at
// exit. Plain JavaScript, so that the process loads nothing the CLI itself would not (no tsx).
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const log = process.env.REINS_TEST_MODULE_LOG;
if (log) {
  register('./module-recorder-hooks.mjs', import.meta.url);
  const { cache } = createRequire(import.meta.url);
  process.on('exit', () => {
    appendFileSync(
      log,
      Object.keys(cache)
        .map((path) => `${path}\n`)
        .join(''),
    );
  });
}
