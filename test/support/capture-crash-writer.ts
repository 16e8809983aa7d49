/**
 * @module test/support/capture-crash-writer
 * Child process for the capture kill -9 test: appends intents that carry a capture (its hash in the
 * record, its raw bytes handed over with the append) as fast as it can, and writes the decision id of
 * every append that resolved to a side file. The parent kills it mid-load.
 * Usage: node --import tsx test/support/capture-crash-writer.ts <audit.db> <appended.log> [full|process] [callers]
 */
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import type { AuditEventV1 } from '../../src/spec/audit-event.js';
import { SqliteAuditLog } from '../../src/store/sqlite/sqlite-audit-log.js';
import { intentEvent } from './audit-fixtures.js';

const [auditPath, appendedPath, durability = 'full', callers = '16'] = process.argv.slice(2);
if (!auditPath || !appendedPath) throw new Error('usage: capture-crash-writer <audit.db> <appended.log>');

const log = new SqliteAuditLog({
  path: auditPath,
  durability: durability === 'process' ? 'process' : 'full',
  inlineMaxBatch: 1,
});

let next = 0;
async function caller(): Promise<void> {
  for (;;) {
    const index = next++;
    // a few KB, sometimes the same content as before (a file read twice)
    const bytes = index % 7 === 0 ? Buffer.from('unchanged file') : randomBytes(512 + (index % 16) * 256);
    const hash = createHash('sha256').update(bytes).digest('hex');
    const event = {
      ...intentEvent(index, { sessionId: `s${index % 4}` }),
      reversal: {
        kind: 'reversible',
        captures: [
          { name: 'before', tool: 'fs/read_file', args: {}, ok: true, hash, bytes: bytes.length, view: '…' },
        ],
      },
    } as AuditEventV1;
    await log.append(event, { captured: [{ hash, bytes }] });
    appendFileSync(appendedPath as string, `d${index}\n`);
    if (index === 300) process.stdout.write('ready\n');
  }
}

for (let index = 0; index < Number(callers); index++) void caller();
