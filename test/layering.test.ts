/**
 * @module test/layering.test
 * Enforces the dependency direction of docs/architecture.md by walking the imports of every source
 * file: a module may import only from the layers listed for it, and the pure layers do no I/O.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SOURCE_ROOT = resolve(import.meta.dirname, '../src');

/** Which top-level modules each module may import from (besides itself). */
const ALLOWED: Record<string, readonly string[]> = {
  spec: [],
  dataflow: ['spec'],
  detect: [],
  policy: ['spec', 'detect', 'dataflow'],
  identity: ['spec'],
  audit: ['spec'],
  store: ['spec', 'audit'],
  loader: ['spec', 'dataflow', 'policy'],
  harness: ['spec', 'detect', 'policy', 'audit', 'store', 'dataflow'],
  memory: ['spec'],
  replay: ['spec', 'policy', 'store', 'loader', 'harness'],
  auth: ['spec', 'identity', 'store'],
  keys: ['spec', 'identity'],
  gateway: ['spec', 'detect', 'memory', 'policy', 'audit', 'store', 'loader', 'harness', 'identity', 'auth'],
  oversight: ['spec', 'audit', 'store', 'identity', 'auth'],
  api: ['spec', 'policy', 'audit', 'store', 'identity', 'auth', 'inspect', 'oversight', 'harness'],
  export: ['spec', 'audit', 'store'],
  inspect: ['spec', 'audit', 'store'],
  demo: ['spec', 'detect', 'memory', 'policy', 'audit', 'store', 'loader', 'harness'],
  cli: [
    'spec',
    'detect',
    'memory',
    'policy',
    'audit',
    'store',
    'loader',
    'harness',
    'demo',
    'export',
    'inspect',
    'identity',
    'auth',
    'gateway',
    'replay',
    'oversight',
    'api',
    'keys',
  ],
  index: ['spec', 'detect', 'memory', 'policy', 'audit', 'store', 'harness'],
};

/** Pure layers decide and hash; they must not touch files, network, processes or databases. */
const PURE = new Set(['spec', 'dataflow', 'detect', 'policy', 'audit', 'identity']);
const PURE_ALLOWED_BUILTINS = new Set(['node:crypto']);

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const full = join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [full] : [];
  });
}

function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles.map((imported) => imported.fileName);
}

function moduleOf(file: string): string {
  const path = relative(SOURCE_ROOT, file);
  // src/index.ts is the package entry point: it re-exports, so it sits above everything but the CLI
  return path === 'index.ts' ? 'index' : (path.split('/')[0] as string);
}

describe('layering', () => {
  const files = sourceFiles(SOURCE_ROOT);

  it('finds the source files and knows every module', () => {
    expect(files.length).toBeGreaterThan(20);
    const unknown = [...new Set(files.map(moduleOf))].filter((name) => !(name in ALLOWED));
    expect(unknown, 'add new modules to ALLOWED (and to docs/architecture.md)').toEqual([]);
  });

  it('imports only along the allowed direction', () => {
    const violations: string[] = [];
    for (const file of files) {
      const from = moduleOf(file);
      for (const specifier of importsOf(file)) {
        if (!specifier.startsWith('.')) continue;
        const target = moduleOf(resolve(dirname(file), specifier));
        if (target !== from && !ALLOWED[from]?.includes(target)) {
          violations.push(`${relative(SOURCE_ROOT, file)} imports ${specifier} (${from} -> ${target})`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it('keeps the pure layers free of I/O', () => {
    const violations: string[] = [];
    for (const file of files.filter((candidate) => PURE.has(moduleOf(candidate)))) {
      for (const specifier of importsOf(file)) {
        const builtin =
          specifier.startsWith('node:') || ['fs', 'net', 'http', 'child_process'].includes(specifier);
        const driver = ['better-sqlite3', 'pg'].includes(specifier);
        if ((builtin && !PURE_ALLOWED_BUILTINS.has(specifier)) || driver) {
          violations.push(`${relative(SOURCE_ROOT, file)} imports ${specifier}`);
        }
      }
    }
    expect(violations).toEqual([]);
  });
});
