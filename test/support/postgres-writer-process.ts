/**
 * @module test/support/postgres-writer-process
 * One writer process of test/postgres-multi-writer.test.ts:
 *   node --import tsx postgres-writer-process.ts <url> <schema> <sessionId> <count> <offset> <round>
 * Opens the log (migrating the schema if it is the first), prints `ready`, waits for `go` on stdin, then
 * appends `count` events in rounds of `round` concurrent appends, closes the log and prints the
 * sequence numbers it was given as JSON. With REINS_TEST_SIGNING_KEY (PKCS#8 PEM) it signs checkpoints
 * every 100 records. Any failure exits non-zero with the error on stderr.
 */
import { createPrivateKey } from 'node:crypto';
import { createInterface } from 'node:readline';
import { CheckpointSigner } from '../../src/audit/checkpoint.js';
import { PostgresAuditLog } from '../../src/store/postgres/postgres-audit-log.js';
import { intentEvent } from './audit-fixtures.js';

const [connectionString, schema, sessionId, countText, offsetText, roundText] = process.argv.slice(2);
if (connectionString === undefined || schema === undefined || sessionId === undefined) {
  throw new Error('usage: postgres-writer-process <url> <schema> <sessionId> <count> <offset> <round>');
}
const count = Number(countText);
const offset = Number(offsetText);
const round = Number(roundText);

const signingKey = process.env.REINS_TEST_SIGNING_KEY;
const log = await PostgresAuditLog.open({
  connectionString,
  schema,
  ...(signingKey ? { signer: new CheckpointSigner(createPrivateKey(signingKey)), checkpointEvery: 100 } : {}),
});
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
for await (const line of lines) if (line.trim() === 'go') break;
lines.close();

const seqs: number[] = [];
for (let start = 0; start < count; start += round) {
  const size = Math.min(round, count - start);
  const receipts = await Promise.all(
    Array.from({ length: size }, (_, index) =>
      log.append(intentEvent(offset + start + index, { sessionId })),
    ),
  );
  for (const receipt of receipts) seqs.push(receipt.seq);
}
await log.close();
process.stdout.write(`${JSON.stringify({ seqs })}\n`);
