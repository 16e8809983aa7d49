/**
 * @module test/layering.test
 * Enforces the module structure of docs/architecture.md ("Modules and layers") by reading the imports
 * (static, dynamic and re-exports, type-only ones included) of every source file under src/; the unit
 * tests beside the code are not checked. The rules:
 *
 * 1. Direction: a module imports only the modules ALLOWED lists for it, and ALLOWED lists exactly the
 *    edges that imports use. An allowed edge that no import uses fails too, so the table (and the
 *    paragraph of the architecture document that mirrors it) stays a true picture of the code.
 * 2. Internals: a sub-folder of a module (src/<module>/<folder>/) is internal to that module: no
 *    other module imports its files (spec/records is read through spec/audit-event, api/routes is
 *    mounted by api/control-api). The concrete backends (store/sqlite, store/postgres) are stricter:
 *    only the folder's own files and cli/ (the composition root: the one place that picks concrete
 *    stores) may import them, so the module's top-level (shared) code never depends on a backend, and
 *    the backends never depend on each other.
 * 3. Drivers: each database driver is imported only by its backend's folder (`better-sqlite3` by
 *    store/sqlite, `pg` by store/postgres) and by cli/.
 * 4. Purity: the pure layers do no I/O (no Node built-in but node:crypto, no driver).
 *
 * TEMPORARY_ALLOWANCES names the known breaks of rules 2 and 3 that are being fixed elsewhere; each
 * must still occur, so that it is removed together with its fix.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SOURCE_ROOT = resolve(import.meta.dirname, '../src');

/** Which top-level modules each module imports from (besides itself): exactly, no more and no less. */
const ALLOWED: Record<string, readonly string[]> = {
  spec: [],
  dataflow: ['spec'],
  detect: [],
  policy: ['spec', 'detect', 'dataflow'],
  identity: ['spec'],
  audit: ['spec'],
  store: ['spec', 'audit'],
  loader: ['spec', 'dataflow', 'policy'],
  harness: ['spec', 'policy', 'store', 'dataflow'],
  memory: ['spec'],
  replay: ['spec', 'policy', 'store', 'loader', 'harness'],
  auth: ['spec', 'identity', 'store'],
  keys: ['spec', 'identity'],
  gateway: ['spec', 'detect', 'memory', 'store', 'harness', 'auth'],
  oversight: ['spec', 'store', 'auth'],
  api: ['spec', 'policy', 'audit', 'store', 'auth', 'inspect', 'oversight'],
  export: ['spec', 'store'],
  inspect: ['spec', 'policy', 'store'],
  adapters: ['spec', 'harness', 'auth'],
  rollback: ['spec', 'policy', 'store', 'harness'],
  telemetry: ['spec'],
  cli: [
    'spec',
    'memory',
    'policy',
    'audit',
    'store',
    'loader',
    'harness',
    'export',
    'inspect',
    'identity',
    'auth',
    'gateway',
    'replay',
    'oversight',
    'api',
    'keys',
    'rollback',
    'telemetry',
  ],
  index: ['spec', 'detect', 'memory', 'policy', 'audit', 'store', 'harness'],
};

/** The composition root: it picks the concrete stores (and so may import backends and drivers). */
const COMPOSITION_ROOT = 'cli';

/** Each database driver, and the one backend folder that may use it (besides the composition root). */
const DRIVER_HOMES: Record<string, string> = { 'better-sqlite3': 'store/sqlite', pg: 'store/postgres' };

/** Pure layers decide and hash; they must not touch files, network, processes or databases. */
const PURE = new Set(['spec', 'dataflow', 'detect', 'policy', 'audit', 'identity']);
const PURE_ALLOWED_BUILTINS = new Set(['node:crypto']);

/**
 * Imports that break rule 2 or 3 while their fix is under way elsewhere. Remove an entry with its fix;
 * the test fails while an entry is no longer needed. None today.
 */
const TEMPORARY_ALLOWANCES: readonly { file: string; imports: string; why: string }[] = [];

/** Backends: only their own files and the composition root may import them (rule 2). */
const BACKEND_FOLDERS = new Set(['store/sqlite', 'store/postgres']);

interface ImportSite {
  /** The importing file, relative to src/. */
  readonly file: string;
  readonly specifier: string;
  /** For a relative import: the imported file, relative to src/. */
  readonly target?: string;
}

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const full = join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [full] : [];
  });
}

function importSites(file: string): ImportSite[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  const from = relative(SOURCE_ROOT, file);
  return info.importedFiles.map(({ fileName: specifier }) =>
    specifier.startsWith('.')
      ? { file: from, specifier, target: relative(SOURCE_ROOT, resolve(dirname(file), specifier)) }
      : { file: from, specifier },
  );
}

/** `store` for store/audit-log.ts; src/index.ts (the package entry, which re-exports) is `index`. */
function moduleOf(path: string): string {
  return path === 'index.ts' ? 'index' : (path.split('/')[0] as string);
}

/** `store/sqlite` for store/sqlite/sqlite-audit-log.ts; undefined for a module's top-level files. */
function internalFolderOf(path: string): string | undefined {
  const parts = path.split('/');
  return parts.length >= 3 ? parts.slice(0, 2).join('/') : undefined;
}

function isInside(path: string, folder: string): boolean {
  return path.startsWith(`${folder}/`);
}

function driverOf(specifier: string): string | undefined {
  return Object.keys(DRIVER_HOMES).find((name) => specifier === name || specifier.startsWith(`${name}/`));
}

function describeSite(site: ImportSite): string {
  return `${site.file} imports ${site.specifier}`;
}

function isTemporarilyAllowed(site: ImportSite): boolean {
  return TEMPORARY_ALLOWANCES.some((entry) => entry.file === site.file && entry.imports === site.specifier);
}

/** Rule 2: another module reaching into a sub-folder, or anyone but cli/ into a backend's folder. */
function breaksInternals(site: ImportSite): boolean {
  if (site.target === undefined) return false;
  const folder = internalFolderOf(site.target);
  if (folder === undefined || isInside(site.file, folder)) return false;
  if (BACKEND_FOLDERS.has(folder)) return moduleOf(site.file) !== COMPOSITION_ROOT;
  return moduleOf(site.file) !== moduleOf(site.target);
}

/** Rule 3: a driver imported outside its backend's folder and the composition root. */
function breaksDrivers(site: ImportSite): boolean {
  const driver = driverOf(site.specifier);
  if (driver === undefined) return false;
  return !isInside(site.file, DRIVER_HOMES[driver] as string) && moduleOf(site.file) !== COMPOSITION_ROOT;
}

describe('layering', () => {
  const files = sourceFiles(SOURCE_ROOT);
  const sites = files.flatMap(importSites);
  const edges = sites.flatMap((site) =>
    site.target === undefined ? [] : [{ site, from: moduleOf(site.file), to: moduleOf(site.target) }],
  );

  it('finds the source files and knows every module (and no module that is gone)', () => {
    expect(files.length).toBeGreaterThan(20);
    const modules = new Set(files.map((file) => moduleOf(relative(SOURCE_ROOT, file))));
    expect(
      [...modules].filter((name) => !(name in ALLOWED)),
      'add new modules to ALLOWED (and to docs/architecture.md)',
    ).toEqual([]);
    expect(
      Object.keys(ALLOWED).filter((name) => !modules.has(name)),
      'remove modules that no longer exist from ALLOWED',
    ).toEqual([]);
  });

  it('imports only along the allowed edges', () => {
    const violations = edges
      .filter(({ from, to }) => from !== to && !ALLOWED[from]?.includes(to))
      .map(({ site, from, to }) => `${describeSite(site)} (${from} -> ${to})`);
    expect(violations).toEqual([]);
  });

  it('allows only edges that some import uses', () => {
    const used = new Set(edges.map(({ from, to }) => `${from} -> ${to}`));
    const unused = Object.entries(ALLOWED).flatMap(([from, targets]) =>
      targets.map((to) => `${from} -> ${to}`).filter((edge) => !used.has(edge)),
    );
    expect(unused, 'remove these edges from ALLOWED (and from docs/architecture.md)').toEqual([]);
  });

  it("keeps a module's sub-folders (the concrete stores) to themselves and the composition root", () => {
    const violations = sites
      .filter((site) => breaksInternals(site) && !isTemporarilyAllowed(site))
      .map(describeSite);
    expect(violations).toEqual([]);
  });

  it('imports each database driver only in its backend and the composition root', () => {
    const violations = sites
      .filter((site) => breaksDrivers(site) && !isTemporarilyAllowed(site))
      .map(describeSite);
    expect(violations).toEqual([]);
  });

  it('still needs every temporary allowance (remove an entry with its fix)', () => {
    const unneeded = TEMPORARY_ALLOWANCES.filter(
      (entry) =>
        !sites.some(
          (site) =>
            site.file === entry.file &&
            site.specifier === entry.imports &&
            (breaksInternals(site) || breaksDrivers(site)),
        ),
    ).map((entry) => `${entry.file} imports ${entry.imports}`);
    expect(unneeded).toEqual([]);
  });

  it('keeps the pure layers free of I/O', () => {
    const violations = sites
      .filter((site) => PURE.has(moduleOf(site.file)))
      .filter(({ specifier }) => {
        const builtin =
          specifier.startsWith('node:') || ['fs', 'net', 'http', 'child_process'].includes(specifier);
        return (builtin && !PURE_ALLOWED_BUILTINS.has(specifier)) || driverOf(specifier) !== undefined;
      })
      .map(describeSite);
    expect(violations).toEqual([]);
  });
});
