// Loads the CLI's bundle, dist/bundle/reins.cjs (scripts/bundle-cli.ts), with the V8 code cache the build
// made for it (issue 20: a desktop client starts `reins mcp` for every conversation). Node 20 compiles
// every module from source at every start, about a megabyte of code before `reins mcp` can start its
// upstream; V8 can instead take the compiled code of an earlier run (`cachedData`), which Node offers
// for scripts, not for ES modules. So the CLI is one CommonJS script whose modules still run only when
// an action imports them, compiled here with the cache the build wrote beside it.
//
// The cache is code this process runs, so it is only ever the build's, in the bundle's own directory
// (whoever can write it can write the bundle). It is used only for the build that made it: the bundle
// ends with a random build id and the cache file is named after it (V8 checks no more than the source's
// length). V8 rejects a cache of another Node or V8 version, or of other flags: the bundle is then
// compiled from source, as without a cache, and runs the same.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import vm from 'node:vm';

const BUILD_ID_MARK = '//# reins-build=';

/** The build id a bundle ends with (scripts/bundle-cli.ts writes it), or undefined. */
export function buildIdOf(source) {
  const at = source.lastIndexOf(BUILD_ID_MARK);
  if (at < 0) return undefined;
  const id = /^[0-9a-f]{32}$/m.exec(source.slice(at + BUILD_ID_MARK.length, at + BUILD_ID_MARK.length + 33));
  return id === null ? undefined : id[0];
}

/** Where the code cache of a bundle with this build id is. */
export function codeCachePath(bundlePath, buildId) {
  return join(dirname(bundlePath), `reins-${buildId}.v8-cache`);
}

function readIfPresent(path) {
  try {
    return readFileSync(path);
  } catch (error) {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Compiles and runs the bundle as a CommonJS module; returns its exports and what became of the cache:
 * `cache` is 'accepted', 'rejected' (by V8), 'absent' (none for this build) or 'not used' (producing).
 * `produceCodeCache`: compile without a cache; `createCodeCache()` then gives what V8 compiled so far, and
 * where it belongs (the build runs the CLI first, so that the functions a start runs are compiled).
 */
export function loadBundle(bundlePath, { produceCodeCache = false } = {}) {
  const source = readFileSync(bundlePath, 'utf8');
  const buildId = buildIdOf(source);
  const cachePath = buildId === undefined ? undefined : codeCachePath(bundlePath, buildId);
  const cachedData = produceCodeCache || cachePath === undefined ? undefined : readIfPresent(cachePath);
  // the wrapper Node's own CommonJS loader used to compile a module with, and a way to import an ES module
  // (the demo's build): `import()` in code V8 took from a cache does not reach Node's loader, so the build
  // turns every other `import()` into a require, and this one into a call of the function passed here
  const script = new vm.Script(
    `(function (exports, require, module, __filename, __dirname, __reinsImportModule) {${source}\n})`,
    { filename: bundlePath, cachedData },
  );
  const module = { exports: {} };
  const importModule = (url) => import(url);
  script.runInThisContext()(
    module.exports,
    createRequire(bundlePath),
    module,
    bundlePath,
    dirname(bundlePath),
    importModule,
  );
  const cache = produceCodeCache
    ? 'not used'
    : cachedData === undefined
      ? 'absent'
      : script.cachedDataRejected
        ? 'rejected'
        : 'accepted';
  return {
    exports: module.exports,
    cache,
    createCodeCache() {
      if (cachePath === undefined)
        throw new Error(`${bundlePath} has no build id: no cache can be named for it`);
      return { path: cachePath, data: script.createCachedData() };
    },
  };
}
