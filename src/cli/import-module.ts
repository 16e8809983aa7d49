/**
 * @module cli/import-module
 * Imports an ES module that is not part of the CLI by its URL at run time (the demo's build). A module
 * of its own because the CLI's bundle replaces it (scripts/bundle-cli.ts): the bundle is a script
 * compiled with V8's code cache, where `import()` cannot reach Node's loader, so there it asks the
 * module that loaded the bundle (bin/load-bundle.js) to import for it.
 */
export function importModule(url: string): Promise<unknown> {
  return import(url);
}
