/**
 * @module export/checkpoint-file
 * Audit checkpoints kept in files outside the database: the publication directory the gateway appends
 * every signed checkpoint to (`checkpoints.jsonl`, one JSON checkpoint per line, each append fsync'd),
 * and the reader `reins audit verify --checkpoints` uses. A file holding one JSON checkpoint (what
 * `reins audit checkpoint` prints) is read too.
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { type AuditCheckpointV1, AuditCheckpointV1Schema } from '../spec/audit-checkpoint.js';
import { describeError, ReinsError } from '../spec/errors.js';

/** The file the directory publisher appends to. */
export const PUBLISHED_CHECKPOINTS_FILE = 'checkpoints.jsonl';

/**
 * Creates the publication directory if needed and checks that it can be appended to (a gateway whose
 * checkpoints cannot be published must not start). Returns the file path.
 */
export function openCheckpointDirectory(directory: string): string {
  const path = join(directory, PUBLISHED_CHECKPOINTS_FILE);
  try {
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    closeSync(openSync(path, 'a', 0o600));
  } catch (error) {
    throw new ReinsError(
      'audit_unavailable',
      `cannot publish audit checkpoints to \`${directory}\`: ${describeError(error)}`,
    );
  }
  return path;
}

/** Appends checkpoints as JSON lines and fsyncs: they are on disk when this returns. */
export function appendCheckpoints(path: string, checkpoints: readonly AuditCheckpointV1[]): void {
  const fd = openSync(path, 'a', 0o600);
  try {
    writeSync(fd, checkpoints.map((checkpoint) => `${JSON.stringify(checkpoint)}\n`).join(''));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads checkpoints from files and directories (every `*.jsonl` and `*.json` file in one). A line that
 * is not a checkpoint is an error naming the file and line: a damaged copy must not pass as fewer
 * checkpoints.
 */
export function readCheckpoints(paths: readonly string[]): AuditCheckpointV1[] {
  const checkpoints: AuditCheckpointV1[] = [];
  for (const path of paths) {
    for (const file of filesOf(path)) checkpoints.push(...readCheckpointFile(file));
  }
  return checkpoints;
}

function filesOf(path: string): string[] {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch (error) {
    throw new ReinsError('not_found', `cannot read checkpoints \`${path}\`: ${describeError(error)}`);
  }
  if (!isDirectory) return [path];
  return readdirSync(path)
    .filter((name) => name.endsWith('.jsonl') || name.endsWith('.json'))
    .sort()
    .map((name) => join(path, name));
}

function readCheckpointFile(file: string): AuditCheckpointV1[] {
  const text = readFileSync(file, 'utf8');
  const whole = parseCheckpoint(text);
  if (whole !== undefined) return [whole];
  const checkpoints: AuditCheckpointV1[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    const checkpoint = parseCheckpoint(line);
    if (checkpoint === undefined)
      throw new ReinsError('invalid_input', `${file}:${index + 1} is not an audit checkpoint`);
    checkpoints.push(checkpoint);
  }
  return checkpoints;
}

function parseCheckpoint(text: string): AuditCheckpointV1 | undefined {
  try {
    const parsed = AuditCheckpointV1Schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
