// Loads the CLI's bundle, dist/bundle/reins.cjs (scripts/bundle-cli.ts), with the V8 code cache the build
// made for it (issue 20: a desktop client starts `reins mcp` for every conversation). Node 20 compiles
// every module from source at every start, about a megabyte of code before `reins mcp` can start its
// upstream; V8 can instead take the compiled code of an earlier run (`cachedData`), which Node offers
// for scripts, not for ES modules. So the CLI is one CommonJS script whose modules still run only when
// an action imports them, compiled here with the cache the build wrote beside it.
//
// The cache is code this process runs, so it is only ever the build's, in the bundle's own directory
// (whoever can write it can write the bundle), and it is given to V8 only for what it was made for. V8
// checks little itself: the source's length (not its text), its own version without Node's patches, its
// flags, and a checksum only in debug builds (damaged bytes crash the process). So the cache file starts
// with a header naming the SHA-256 of the script and of the compiled code, the Node version and
// architecture, and V8's cache version tag; a cache that does not match in every one is not used, and
// the script is compiled from source, as without a cache. `REINS_CODE_CACHE=off` never uses one;
// `REINS_DEBUG=code-cache` says on stderr what became of it.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';

// The wrapper Node's own CommonJS loader used to compile a module with, and two more parameters: the
// script's URL (its `import.meta.url`) and a way to import an ES module (the demo's build): `import()` in
// code V8 took from a cache does not reach Node's loader, so the build turns every other `import()` into
// a require, and this one into a call of the function passed here. The script's "use strict" stays
// first in the function's body.
const WRAPPER_HEAD =
  '(function (exports, require, module, __filename, __dirname, __reinsModuleUrl, __reinsImportModule) {';
const WRAPPER_TAIL = '\n})';
const CACHE_FORMAT = 'reins-code-cache/1';
/** Far above a real cache (about 2.3 MB); a larger file is not read. */
const MAX_CACHE_BYTES = 64 * 1024 * 1024;

/** Where the code cache of a bundle is. */
export function codeCachePath(bundlePath) {
  return join(dirname(bundlePath), 'reins.cjs.v8-cache');
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** What the cache of `script` (the bundle's bytes) must say it was made for. */
function cacheKey(script) {
  return {
    format: CACHE_FORMAT,
    // hashed in parts: no copy of the 3 MB script at every start
    script: createHash('sha256').update(WRAPPER_HEAD).update(script).update(WRAPPER_TAIL).digest('hex'),
    node: process.version,
    arch: process.arch,
    v8: v8.cachedDataVersionTag(),
  };
}

/** A cache file: one JSON line (the key and the SHA-256 of the compiled code), then the compiled code. */
export function encodeCodeCache(script, data) {
  return Buffer.concat([
    Buffer.from(`${JSON.stringify({ ...cacheKey(script), data: sha256(data) })}\n`),
    data,
  ]);
}

/** The compiled code in `file` if it was made for `script` on this Node and is whole; else why not. */
function decodeCodeCache(file, script) {
  const end = file.indexOf(0x0a);
  if (end < 0 || end > 4096) return { outcome: 'damaged' };
  let header;
  try {
    header = JSON.parse(file.subarray(0, end).toString('utf8'));
  } catch {
    return { outcome: 'damaged' };
  }
  const key = cacheKey(script);
  for (const field of Object.keys(key)) if (header?.[field] !== key[field]) return { outcome: 'stale' };
  const data = file.subarray(end + 1);
  if (header.data !== sha256(data)) return { outcome: 'damaged' };
  return { data };
}

/** The cache for `script`, or why there is none to use: `off`, `absent`, `unreadable`, `stale`, `damaged`. */
function readCodeCache(bundlePath, script) {
  if (process.env.REINS_CODE_CACHE === 'off') return { outcome: 'off' };
  const path = codeCachePath(bundlePath);
  let file;
  try {
    // a regular file of a sane size only (a FIFO would block the start, /dev/zero fill the memory)
    const stat = statSync(path);
    if (!stat.isFile() || stat.size > MAX_CACHE_BYTES) return { outcome: 'unreadable' };
    file = readFileSync(path);
  } catch (error) {
    return { outcome: error.code === 'ENOENT' ? 'absent' : 'unreadable' };
  }
  return decodeCodeCache(file, script);
}

/**
 * Compiles and runs the bundle as a CommonJS module; returns its exports and what became of the cache:
 * `cache` is 'accepted', 'rejected' (by V8), one of readCodeCache's reasons, or 'not used' (producing).
 * `produceCodeCache`: compile without a cache; `createCodeCache()` then gives the cache file of what V8
 * compiled so far, and where it belongs (the build runs the CLI first, so that what a start runs is
 * compiled).
 */
export function loadBundle(bundlePath, { produceCodeCache = false } = {}) {
  const script = readFileSync(bundlePath);
  const found = produceCodeCache ? { outcome: 'not used' } : readCodeCache(bundlePath, script);
  const compiled = new vm.Script(`${WRAPPER_HEAD}${script.toString('utf8')}${WRAPPER_TAIL}`, {
    filename: bundlePath,
    cachedData: found.data,
  });
  const cache =
    found.data === undefined ? found.outcome : compiled.cachedDataRejected ? 'rejected' : 'accepted';
  if ((process.env.REINS_DEBUG ?? '').split(',').includes('code-cache')) {
    process.stderr.write(`reins: code cache ${cache} (${codeCachePath(bundlePath)})\n`);
  }
  const module = { exports: {} };
  const moduleUrl = pathToFileURL(bundlePath).href;
  const importModule = (url) => import(url);
  compiled.runInThisContext()(
    module.exports,
    createRequire(bundlePath),
    module,
    bundlePath,
    dirname(bundlePath),
    moduleUrl,
    importModule,
  );
  return {
    exports: module.exports,
    cache,
    createCodeCache() {
      return { path: codeCachePath(bundlePath), data: encodeCodeCache(script, compiled.createCachedData()) };
    },
  };
}
