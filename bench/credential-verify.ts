/**
 * @module bench/credential-verify
 * What authenticating a call costs: the first time a credential is seen (EdDSA signature and claims
 * checked by jose) and afterwards (cached verification, revocation and agent-state checks on every
 * call). Run: npm run bench:credentials
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentRegistry } from '../src/auth/agent-registry.js';
import { Authenticator } from '../src/auth/authenticator.js';
import { ephemeralKeySource } from '../src/identity/key-ring.js';
import { SqliteIdentityStore } from '../src/store/sqlite/sqlite-identity-store.js';
import { format, machine, summarise } from './measure.js';

const write = (line: string) => process.stdout.write(`${line}\n`);
const directory = mkdtempSync(join(tmpdir(), 'reins-credential-bench-'));
const store = new SqliteIdentityStore({ path: join(directory, 'reins.db') });
const registry = new AgentRegistry(store);
await registry.create({
  id: 'bench-agent',
  owner: 'bench@example.com',
  scopes: ['crm/*', 'pay/*'],
  roles: ['bench'],
});
const auth = await Authenticator.open({ store, keys: ephemeralKeySource() });
// a realistic revocation list: other tokens, sessions and agents revoked
for (let index = 0; index < 1_000; index++) await auth.revoke('token', `revoked-${index}`, { by: 'bench' });

const COLD = 2_000;
const tokens: string[] = [];
for (let index = 0; index < COLD; index++)
  tokens.push((await auth.issue('bench-agent', { sessionId: `s${index}` })).token);
const cold: number[] = [];
for (const token of tokens) {
  const started = process.hrtime.bigint();
  const result = await auth.authenticate(token);
  cold.push(Number(process.hrtime.bigint() - started) / 1_000);
  if (!result.ok) throw new Error(result.message);
}
const coldSummary = summarise(cold);

// cached: the same credential on every call, as an agent's session presents it; each call is timed
// from the call to its settled result (the awaited promise), not just its synchronous start
const token = tokens[0] as string;
const warm: number[] = [];
for (let index = 0; index < 205_000; index++) {
  const started = process.hrtime.bigint();
  const result = await auth.authenticate(token);
  if (index >= 5_000) warm.push(Number(process.hrtime.bigint() - started) / 1_000);
  if (!result.ok) throw new Error(result.message);
}
const cached = summarise(warm);

write(`machine: ${machine()}`);
write('command: npm run bench:credentials');
write('');
write('| path | median µs | p99 µs | samples |');
write('| --- | ---: | ---: | ---: |');
write(
  `| first sight (EdDSA verify + claims + standing) | ${format(coldSummary.medianUs)} | ${format(coldSummary.p99Us)} | ${coldSummary.samples} |`,
);
write(
  `| cached (standing checked every call) | ${format(cached.medianUs)} | ${format(cached.p99Us)} | ${cached.samples} |`,
);
write('');
write(`cached / first sight (median): ${format(coldSummary.medianUs / cached.medianUs, 0)}x faster`);
auth.close();
await store.close();
rmSync(directory, { recursive: true, force: true });
