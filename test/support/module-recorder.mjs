// Loaded with `node --import` by test/cli-startup.test.ts: records what the process loads and runs in the
// file REINS_TEST_MODULE_LOG names, one item a line:
// - files: every ES module through a load hook (a URL a line), the CommonJS modules from require's cache
//   at exit (a path a line);
// - the modules of the CLI's bundle (dist/bundle/reins.cjs, one script in which esbuild wraps each lazily
//   loaded module in a function named after its path): `ran <path>` for each whose function ran, from V8's
//   precise coverage (node:inspector, in-process), and at exit `idle <path>` for those that never ran
//   (a module of the bundle in neither list is not wrapped: it runs whenever the script does), and
//   `script <url>` for each script these came from;
// - `spawn <command>` when the process starts a child (node:child_process spawn, as the MCP SDK's stdio
//   transport does), after the `ran` lines of that moment: what ran before the child started is above it.
// Plain JavaScript, so that the process loads nothing the CLI itself would not (no tsx).
import { appendFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { createRequire, register } from 'node:module';

const log = process.env.REINS_TEST_MODULE_LOG;
/** esbuild's names of its module wrappers: the module's path from the package root. */
const MODULE_PATH = /^(?:src|node_modules)\/.+\.(?:[cm]?js|ts|json)$/;

if (log) {
  register('./module-recorder-hooks.mjs', import.meta.url);
  const require = createRequire(import.meta.url);
  const session = new Session();
  session.connect();
  // an in-process session answers synchronously: each post's callback has run when post returns
  session.post('Profiler.enable');
  session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: false });

  // what ran so far, by wrapper (a take resets V8's counts, and later takes leave out what never ran)
  const wrappers = new Map();
  const scripts = new Set();
  /** The bundle's module wrappers and whether each ran so far, as `ran` (and `idle`) lines. */
  const bundleModules = ({ withIdle }) => {
    session.post('Profiler.takePreciseCoverage', (error, coverage) => {
      if (error) throw error;
      for (const script of coverage.result) {
        for (const fn of script.functions) {
          if (!MODULE_PATH.test(fn.functionName)) continue;
          scripts.add(script.url);
          wrappers.set(fn.functionName, wrappers.get(fn.functionName) === true || fn.ranges[0].count > 0);
        }
      }
    });
    let lines = [...scripts].map((url) => `script ${url}\n`).join('');
    for (const [name, ran] of wrappers) if (ran || withIdle) lines += `${ran ? 'ran' : 'idle'} ${name}\n`;
    return lines;
  };

  const childProcess = require('node:child_process');
  const spawn = childProcess.spawn;
  childProcess.spawn = function recordedSpawn(command, ...rest) {
    appendFileSync(log, `${bundleModules({ withIdle: false })}spawn ${command}\n`);
    return spawn.call(this, command, ...rest);
  };
  process.on('exit', () => {
    appendFileSync(
      log,
      bundleModules({ withIdle: true }) +
        Object.keys(require.cache)
          .map((path) => `${path}\n`)
          .join(''),
    );
  });
}
