/**
 * @module examples/demo/demo-policy
 * Loads a demo policy from `examples/demo/`, the same YAML a user can read and edit. The directory is
 * found relative to this module: both `examples/demo/src/` (tsx, vitest) and `examples/demo/dist/`
 * (after `npm run build`) sit right below it.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compilePolicy, formatProblem, type PreparedPolicy, ReinsError } from 'reins';
import { firstLine } from './demo-output.js';

const EXAMPLES_DIRECTORY = new URL('../', import.meta.url);

export interface DemoPolicy {
  readonly policy: PreparedPolicy;
  /** Where the file is, relative to the working directory when that is shorter (for printing). */
  readonly displayPath: string;
}

/**
 * Compiles `examples/demo/<fileName>` (or `<directory>/<fileName>`); a policy that does not load is an
 * error, never a silent allow.
 */
export function loadDemoPolicy(fileName: string, directory?: string): DemoPolicy {
  const path =
    directory === undefined
      ? fileURLToPath(new URL(fileName, EXAMPLES_DIRECTORY))
      : join(directory, fileName);
  const fromHere = relative(process.cwd(), path);
  const displayPath = fromHere.length < path.length && !fromHere.startsWith('..') ? fromHere : path;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ReinsError('not_found', `cannot read demo policy \`${path}\`: ${firstLine(error)}`);
  }
  const compiled = compilePolicy([{ file: displayPath, text }]);
  if (!compiled.ok) {
    throw new ReinsError(
      'invalid_policy',
      `demo policy \`${displayPath}\` does not load:\n${compiled.problems.map(formatProblem).join('\n')}`,
    );
  }
  return { policy: compiled.policy, displayPath };
}
