/**
 * @module cli/audit-commands
 * `reins audit verify`: walks the hash chain of an audit log and reports the first broken record.
 */
import { existsSync } from 'node:fs';
import { describeError } from '../spec/errors.js';
import { SqliteAuditLog } from '../store/sqlite/sqlite-audit-log.js';
import { type CliIo, EXIT_ERROR, EXIT_FAILED, EXIT_OK } from './io.js';

export async function verifyAudit(options: { db: string }, io: CliIo): Promise<number> {
  // fail closed: verifying a log that is not there must not look like verifying an empty one
  if (!existsSync(options.db)) {
    io.err(`no audit log at \`${options.db}\` (use --db to point at one)`);
    return EXIT_ERROR;
  }
  let log: SqliteAuditLog | undefined;
  try {
    log = new SqliteAuditLog({ path: options.db, readOnly: true });
    const report = await log.verify();
    if (report.ok) {
      io.out(
        `ok: ${options.db}: ${report.checked} records, chain intact, head ${report.lastSeq} ${report.lastHash.slice(0, 16)}`,
      );
      return EXIT_OK;
    }
    const bad = report.firstBad;
    io.err(`TAMPERED: ${options.db}: first bad record ${bad?.seq} (${bad?.problem}): ${bad?.message}`);
    io.err(`records 1..${report.lastSeq} verify; everything from record ${bad?.seq} on is untrusted`);
    return EXIT_FAILED;
  } catch (error) {
    io.err(`cannot verify \`${options.db}\`: ${describeError(error)}`);
    return EXIT_ERROR;
  } finally {
    await log?.close();
  }
}
