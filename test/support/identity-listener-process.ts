/**
 * @module test/support/identity-listener-process
 * The receiving process of test/identity-revocation-propagation.test.ts:
 *   node --import tsx identity-listener-process.ts <url> <schema>
 * Opens the PostgreSQL identity store, subscribes, prints `ready`, then prints one JSON line
 * `{"id": <token id>, "t": <ms>}` per revocation it is told about, `t` being the wall-clock time of
 * receipt in high resolution (performance.timeOrigin + performance.now()). Closes the store and exits
 * when stdin ends or says `stop`. Any failure exits non-zero with the error on stderr.
 */
import { createInterface } from 'node:readline';
import { PostgresIdentityStore } from '../../src/store/postgres/postgres-identity-store.js';

const [connectionString, schema] = process.argv.slice(2);
if (connectionString === undefined || schema === undefined) {
  throw new Error('usage: identity-listener-process <url> <schema>');
}

const store = await PostgresIdentityStore.open({ connectionString, schema });
store.onChange((change) => {
  const t = performance.timeOrigin + performance.now();
  if (change.kind === 'revocation')
    process.stdout.write(`${JSON.stringify({ id: change.revocation.id, t })}\n`);
});
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
for await (const line of lines) if (line.trim() === 'stop') break;
lines.close();
await store.close();
