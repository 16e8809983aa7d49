/**
 * @module test/support/lease-contender
 * Child process for the lease tests: on one SQLite store, at the wall-clock time `startAt`, tries to
 * take each of `keys` leases as `holder` and prints the keys it won (one JSON line); then, with `hold`,
 * prints `held` and stays alive holding them (until the parent kills it with -9).
 * Usage: node --import tsx test/support/lease-contender.ts <store.db> <holder> <keys> <startAt> <ttlMs> [hold]
 */
import { SqliteCounterStore } from '../../src/store/sqlite/sqlite-counter-store.js';

const [path, holder, keys, startAt, ttlMs, hold] = process.argv.slice(2);
if (!path || !holder)
  throw new Error('usage: lease-contender <store.db> <holder> <keys> <startAt> <ttlMs> [hold]');

const store = new SqliteCounterStore(path);
while (Date.now() < Number(startAt)); // everyone starts at once
const won: string[] = [];
for (let index = 0; index < Number(keys); index++) {
  const key = `rollback/s${index}`;
  if (await store.acquireLease(key, holder, Number(ttlMs), Date.now())) won.push(key);
  // a pause after each key keeps the processes asking for the same keys at about the same time
  await new Promise((resume) => setTimeout(resume, 2));
}
process.stdout.write(`${JSON.stringify(won)}\n`);
if (hold === 'hold') {
  process.stdout.write('held\n');
  setInterval(() => {}, 1_000);
} else store.close();
