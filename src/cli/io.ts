/**
 * @module cli/io
 * Where commands write, so that tests can run the CLI in-process and read its output.
 */
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
