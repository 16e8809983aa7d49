/**
 * @module loader/policy-files
 * Reads policy documents from disk: a single YAML file, or every `*.yaml`/`*.yml` in a directory
 * (sorted by name, so the load order, and with it the policy hash, is stable). Test files
 * (`*.test.yaml`) in a directory are skipped.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type CompilePolicyResult, compilePolicy, type PolicySource } from '../policy/compile-policy.js';
import { describeError } from '../spec/errors.js';

const POLICY_FILE = /\.ya?ml$/;
const TEST_FILE = /\.test\.ya?ml$/;

export type ReadSourcesResult = { ok: true; sources: PolicySource[] } | { ok: false; message: string };

export function readPolicySources(path: string): ReadSourcesResult {
  try {
    const stat = statSync(path);
    if (stat.isFile()) return { ok: true, sources: [{ file: path, text: readFileSync(path, 'utf8') }] };
    const files = readdirSync(path)
      .filter((name) => POLICY_FILE.test(name) && !TEST_FILE.test(name))
      .sort()
      .map((name) => join(path, name));
    if (files.length === 0) return { ok: false, message: `no policy files (*.yaml) in \`${path}\`` };
    return { ok: true, sources: files.map((file) => ({ file, text: readFileSync(file, 'utf8') })) };
  } catch (error) {
    return { ok: false, message: `cannot read policy \`${path}\`: ${describeError(error)}` };
  }
}

/** Reads and compiles; a read failure is reported as a problem of the path. */
export function loadPolicy(path: string): CompilePolicyResult {
  const read = readPolicySources(path);
  if (!read.ok) return { ok: false, problems: [{ file: path, line: 0, column: 0, message: read.message }] };
  return compilePolicy(read.sources);
}
