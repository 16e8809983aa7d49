/**
 * @module cli/io
 * Where commands write, so that tests can run the CLI in-process and read its output.
 */
import { describeError, ReinsError } from '../spec/errors.js';

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

export const processIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** Exit codes: 0 success, 1 the check failed (invalid policy, failed test, broken chain), 2 usage or I/O error. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_ERROR = 2;

export const DEFAULT_AUDIT_PATH = '.reins/audit.db';
/** `reins demo` writes a log of its own: its records are not a deployment's (the console shows those). */
export const DEMO_AUDIT_PATH = '.reins/demo.db';

/**
 * An error as a person should read it: our own errors in full (a configuration or policy problem is
 * several lines, file:line:column each), anything else by its first line.
 */
export function describeFully(error: unknown): string {
  return error instanceof ReinsError ? error.message : describeError(error);
}
