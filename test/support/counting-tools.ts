/**
 * @module test/support/counting-tools
 * The tool names test/support/counting-server.ts lists, and how to read what it recorded: shared by the
 * server and the fuzz tests that aim calls at those names.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';

/** Awkward on purpose: separators, dots, case, unicode, a glob character, a very long name. */
export const COUNTING_TOOLS: readonly string[] = [
  'read',
  'Read',
  'write',
  'db.select',
  'db.execute',
  'a__b',
  '..',
  '../etc/passwd',
  'résumé',
  'tool with space',
  '*',
  `long-${'x'.repeat(200)}`,
];

export interface Execution {
  readonly label: string;
  readonly tool: string;
  readonly args: Record<string, unknown>;
}

/** Reads what counting servers appended to one file, a little at a time. */
export class ExecutionLog {
  private offset = 0;

  constructor(readonly file: string) {}

  /** The executions recorded since the last call (all of them on the first). */
  newSince(): Execution[] {
    if (!existsSync(this.file)) return [];
    const size = statSync(this.file).size;
    const fresh = Buffer.alloc(size - this.offset);
    const descriptor = openSync(this.file, 'r');
    try {
      readSync(descriptor, fresh, 0, fresh.length, this.offset);
    } finally {
      closeSync(descriptor);
    }
    this.offset = size;
    return fresh
      .toString('utf8')
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as Execution);
  }
}
