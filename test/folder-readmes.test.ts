/**
 * @module test/folder-readmes.test
 * Every folder under src/ explains itself in a README.md (issue 13: the layers visible in the tree).
 * Its title line names its layer (core, runtime or surfaces), the same one src/README.md lists the
 * folder under, and every `*.ts` file and document it names exists, so the READMEs stay true as the
 * code moves. Reads files only.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO_ROOT = resolve(import.meta.dirname, '..');
const SOURCE_ROOT = join(REPO_ROOT, 'src');
const LAYERS = ['core', 'runtime', 'surfaces'] as const;

/** A file name ending in `.ts`, not part of a longer path, glob or placeholder (`*.test.ts`, `<kind>.ts`). */
const TS_NAME = /(?<![\w./*<>-])\w[\w./-]*\.ts\b/g;
/** A document named in the text (`docs/policy.md`, `docs/decisions/0011-key-custody.md`). */
const DOC_NAME = /(?<![\w./-])docs\/[\w./-]*\.md\b/g;
/** The target of a relative Markdown link. */
const LINK_TARGET = /\]\((?!https?:|#)([^)\s#]+)/g;

/** Every folder under `directory`, nested ones included. */
function foldersUnder(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => {
      const full = join(directory, entry.name);
      return [full, ...foldersUnder(full)];
    });
}

function readmeOf(folder: string): string | undefined {
  const path = join(folder, 'README.md');
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

/** `store/sqlite` for src/store/sqlite. */
function nameOf(folder: string): string {
  return relative(SOURCE_ROOT, folder);
}

/** The layers a title line names, as whole lower-case words. */
function layersIn(title: string): string[] {
  return LAYERS.filter((layer) => new RegExp(`\\b${layer}\\b`).test(title));
}

/** The layer src/README.md lists each top-level folder under (`- **core** ...: `spec/`, ...`). */
function layerIndex(): Map<string, string[]> {
  const index = new Map<string, string[]>();
  for (const line of (readmeOf(SOURCE_ROOT) ?? '').split('\n')) {
    const layer = /^- \*\*(core|runtime|surfaces)\*\*/.exec(line)?.[1];
    if (layer === undefined) continue;
    for (const [, folder] of line.matchAll(/`([\w-]+)\/`/g)) {
      index.set(folder as string, [...(index.get(folder as string) ?? []), layer]);
    }
  }
  return index;
}

/** Names in `text` that exist at none of the places they may be relative to. */
function missing(names: Iterable<string>, bases: (name: string) => string[]): string[] {
  return [...new Set(names)].filter((name) => !bases(name).some((path) => existsSync(path)));
}

describe('folder READMEs', () => {
  const folders = foldersUnder(SOURCE_ROOT);
  const withReadme = [SOURCE_ROOT, ...folders].flatMap((folder) => {
    const text = readmeOf(folder);
    return text === undefined ? [] : [{ folder, text }];
  });

  it('finds the folders under src/', () => {
    expect(folders.length).toBeGreaterThan(15);
  });

  it('has a README.md in src/ and in every folder under it', () => {
    const without = [SOURCE_ROOT, ...folders].filter((folder) => readmeOf(folder) === undefined);
    expect(without.map((folder) => relative(REPO_ROOT, folder))).toEqual([]);
  });

  it('lists every top-level folder under exactly one layer in src/README.md', () => {
    const index = layerIndex();
    const topLevel = folders.filter((folder) => dirname(folder) === SOURCE_ROOT).map(nameOf);
    const wrong = topLevel.filter((folder) => index.get(folder)?.length !== 1);
    const stale = [...index.keys()].filter((folder) => !topLevel.includes(folder));
    expect({ notListedOnce: wrong, notAFolder: stale }).toEqual({ notListedOnce: [], notAFolder: [] });
  });

  it('names in each title line the one layer src/README.md gives the folder', () => {
    const index = layerIndex();
    const wrong = withReadme
      .filter(({ folder }) => folder !== SOURCE_ROOT)
      .flatMap(({ folder, text }) => {
        const named = layersIn(text.split('\n')[0] ?? '');
        const expected = index.get(nameOf(folder).split('/')[0] as string)?.[0];
        return named.length === 1 && named[0] === expected
          ? []
          : [`${nameOf(folder)}: title names [${named.join(', ')}], src/README.md says ${expected}`];
      });
    expect(wrong).toEqual([]);
  });

  it('names at least one file of its own folder (an entry point)', () => {
    const silent = withReadme.filter(({ folder, text }) => {
      const own = readdirSync(folder).filter((file) => file.endsWith('.ts'));
      return !own.some((file) => new RegExp(`(?<![\\w./-])${file.replaceAll('.', '\\.')}\\b`).test(text));
    });
    expect(silent.map(({ folder }) => nameOf(folder))).toEqual([]);
  });

  it('names only .ts files that exist', () => {
    const wrong = withReadme.flatMap(({ folder, text }) =>
      missing(text.match(TS_NAME) ?? [], (name) =>
        // a bare name is a file of this folder; a path may also start at src/ or the repository root
        name.includes('/')
          ? [join(folder, name), join(SOURCE_ROOT, name), join(REPO_ROOT, name)]
          : [join(folder, name)],
      ).map((name) => `${nameOf(folder) || '.'}/README.md names ${name}`),
    );
    expect(wrong).toEqual([]);
  });

  it('names and links only documents that exist', () => {
    const wrong = withReadme.flatMap(({ folder, text }) => {
      const documents = missing(text.match(DOC_NAME) ?? [], (name) => [join(REPO_ROOT, name)]);
      const targets = [...text.matchAll(LINK_TARGET)].map((match) => match[1] as string);
      const links = missing(targets, (target) => [join(folder, target)]);
      return [...documents, ...links].map((name) => `${nameOf(folder) || '.'}/README.md names ${name}`);
    });
    expect(wrong).toEqual([]);
  });
});
