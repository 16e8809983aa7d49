/**
 * @module store/sqlite/start-worker
 * Starts one of this directory's worker threads. Under the test runner the sources are TypeScript,
 * so the worker first registers tsx and then loads the .ts file; built code loads the .js file beside
 * this module's: in dist/store/sqlite/ (tsc's output, the library), or in dist/bundle/ (the CLI's
 * bundle, scripts/bundle-cli.ts, where this module is in the CLI's script and each worker an ES module
 * of its own).
 */
import module from 'node:module';
import { Worker } from 'node:worker_threads';

export function startWorker(name: string, workerData: unknown): Worker {
  const source = import.meta.url.endsWith('.ts');
  const script = new URL(`./${name}.${source ? 'ts' : 'js'}`, import.meta.url);
  if (!source) return new Worker(script, { workerData, ...compileCache() });
  return new Worker(
    `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(script.href)}); })`,
    { eval: true, workerData },
  );
}

/**
 * Node 22's compile cache of ES modules (bin/reins.js turns it on) covers the thread that enabled it; a
 * worker uses it when NODE_COMPILE_CACHE names the directory (Node's documented way). Nothing on Node 20.
 */
function compileCache(): { env?: NodeJS.ProcessEnv } {
  const directory = (module as { getCompileCacheDir?: () => string | undefined }).getCompileCacheDir?.();
  return directory === undefined ? {} : { env: { ...process.env, NODE_COMPILE_CACHE: directory } };
}
