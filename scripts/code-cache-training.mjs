// The training run of the CLI's code cache (scripts/bundle-cli.ts starts it as the MCP server of its
// client): loads the new bundle without a cache, as bin/reins.js would, runs `reins --help` and `reins
// policy check` quietly, then serves `reins mcp` on this process's stdio until the client closes it, and
// writes what V8 compiled meanwhile as the bundle's code cache (bin/load-bundle.js). Plain JavaScript,
// run by a bare `node`, so that V8 runs with the flags the CLI runs with (a cache made under other flags
// is rejected).
//
// Usage: node scripts/code-cache-training.mjs <bundle> <policy file> mcp <the mcp command's arguments...>
import { renameSync, writeFileSync } from 'node:fs';
import { loadBundle } from '../bin/load-bundle.js';

const [bundlePath, policyFile, ...mcpArgs] = process.argv.slice(2);
if (bundlePath === undefined || policyFile === undefined || mcpArgs[0] !== 'mcp') {
  throw new Error('usage: code-cache-training.mjs <bundle> <policy file> mcp <arguments...>');
}
const loaded = loadBundle(bundlePath, { produceCodeCache: true });
const { runCli } = loaded.exports;
const argv = (...args) => [process.execPath, 'reins', ...args];
const quiet = { out() {}, err() {} };
for (const args of [['--help'], ['policy', 'check', policyFile]]) {
  const code = await runCli(argv(...args), quiet);
  if (code !== 0) throw new Error(`reins ${args.join(' ')} exited ${code}`);
}
// the build's client ends this process's input when it is done, and sends SIGTERM 2 s later if the
// process is still there (SIGKILL 2 s after that): the cache is written first
process.on('SIGTERM', () =>
  process.stderr.write('code-cache-training: SIGTERM before the cache was written\n'),
);
const code = await runCli(argv(...mcpArgs));
if (code !== 0) throw new Error(`reins mcp exited ${code}`);
const { path, data } = loaded.createCodeCache();
// written whole or not at all: a cache cut short by a crash would be rejected, but is not left to be
writeFileSync(`${path}.partial`, data);
renameSync(`${path}.partial`, path);
