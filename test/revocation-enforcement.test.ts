/**
 * @module test/revocation-enforcement.test
 * A revocation made through one Authenticator is enforced by another on the same store (as in two
 * gateway processes): SQLite (two connections to one file) and PostgreSQL (two pools, LISTEN/NOTIFY).
 * The time until the other side refuses the credential is printed, not asserted: the test asserts that
 * every revocation is enforced (a latency bound on a shared CI machine would only make it flaky).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, escapeIdentifier } from 'pg';
import { describe, expect, it } from 'vitest';
import { AgentRegistry } from '../src/auth/agent-registry.js';
import { Authenticator } from '../src/auth/authenticator.js';
import { ephemeralKeySource } from '../src/identity/key-ring.js';
import { PostgresIdentityStore } from '../src/store/postgres/postgres-identity-store.js';
import { SqliteIdentityStore } from '../src/store/sqlite/sqlite-identity-store.js';
import type { IdentityStore } from '../src/store/state-stores.js';
import { eventually } from './support/eventually.js';

const DATABASE_URL = process.env.REINS_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Ten revocations through one side; fails unless the other side refuses each credential. Delays, ms. */
async function measure(openStore: () => Promise<IdentityStore>): Promise<number[]> {
  const first = await openStore();
  const second = await openStore();
  await new AgentRegistry(first).create({ id: 'agent', owner: 'o@example.com', scopes: ['crm/*'] });
  const keys = ephemeralKeySource(); // one key source, as every process of a deployment shares it
  const issuing = await Authenticator.open({ store: first, keys });
  const enforcing = await Authenticator.open({ store: second, keys });
  const delays: number[] = [];
  try {
    for (let round = 0; round < 10; round++) {
      const { token, claims } = await issuing.issue('agent');
      // the other side knows the agent and accepts the credential first
      await eventually(async () => expect((await enforcing.authenticate(token)).ok).toBe(true), {
        what: 'the other side accepting the credential',
      });
      const revokedAt = performance.now();
      await issuing.revoke('token', claims.jti, { by: 'test' });
      await eventually(
        async () => expect(await enforcing.authenticate(token)).toMatchObject({ ok: false, code: 'revoked' }),
        {
          intervalMs: 1,
          what: 'the revocation reaching the other side',
        },
      );
      delays.push(performance.now() - revokedAt);
    }
  } finally {
    issuing.close();
    enforcing.close();
    await first.close();
    await second.close();
  }
  return delays;
}

function report(name: string, delays: number[]): void {
  const sorted = [...delays].sort((a, b) => a - b);
  console.log(
    `${name}: revocation enforced by the other instance after median ${sorted[Math.floor(sorted.length / 2)]?.toFixed(1)} ms, max ${sorted.at(-1)?.toFixed(1)} ms (${sorted.length} revocations)`,
  );
}

describe('revocation is enforced everywhere', () => {
  it('on SQLite: two connections to one file', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'reins-revocation-')), 'reins.db');
    const delays = await measure(async () => new SqliteIdentityStore({ path }));
    report('sqlite', delays);
  });

  it('on PostgreSQL: two pools, LISTEN/NOTIFY', async () => {
    const schema = `reins_revocation_${randomBytes(6).toString('hex')}`;
    const delays = await measure(() =>
      PostgresIdentityStore.open({ connectionString: DATABASE_URL, schema }),
    );
    const client = new Client({ connectionString: DATABASE_URL });
    await client.connect();
    await client.query(`drop schema if exists ${escapeIdentifier(schema)} cascade`);
    await client.end();
    report('postgresql', delays);
  });
});
