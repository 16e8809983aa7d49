/**
 * Fixed: `signin.refused` is recorded at most 3 times per identity and 60 times in all per 10-minute
 * window (src/api/signin-refusals.ts, in memory per process); the refusals left out are counted and
 * the identity's next record says how many; a refusal quotes at most 20 groups of 64 characters
 * (src/api/oidc-sign-in.ts). The test now also checks that the refusals are still recorded at all.
 *
 * ATTACK: anyone the provider will authenticate can make Reins append to the audit log without bound.
 *
 * Every callback of a person the provider vouched for but Reins refuses (no mapped group, no second
 * factor) appends an `operator-action` `signin.refused` record, whose reason quotes the person's whole
 * groups claim. Decision 0023 accepts this because "only people who can log in at the provider can
 * cause the records, at the provider's pace". But the provider's pace is that of a silent re-login
 * (the provider's SSO session makes each round trip a few redirects), and the docs name multi-tenant
 * providers (Google; Entra's common endpoint), where "people who can log in" is everyone with an
 * account: none of them holds a mapped group, all of them are refused and recorded. The audit log is
 * a hash-chained, append-only store (it cannot be pruned of the noise), so a script looping
 * login -> provider (silent) -> callback grows it by one record per loop, forever, unauthenticated in
 * every sense that matters to Reins (decision 0013: "an unauthenticated caller must not be able to
 * make Reins write").
 *
 * Reproduce: with the test provider, sign `bob` (groups [staff], mapped to nothing) in 25 times in a
 * row; count `signin.refused` records: 25.
 *
 * EXPECTED SAFE BEHAVIOUR: repeated refusals of the same identity are rate limited / coalesced (e.g.
 * at most a handful recorded per identity per minute); a burst of 25 leaves at most 5 records.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type OidcDeployment,
  signInWithoutBrowser,
  startOidcDeployment,
} from '../support/oidc-deployment.js';

let deployment: OidcDeployment;

beforeAll(async () => {
  deployment = await startOidcDeployment();
}, 60_000);

afterAll(async () => {
  await deployment?.close();
});

async function refusals(): Promise<number> {
  const response = await fetch(
    `${deployment.controlUrl}/v1/audit?kind=operator-action&order=desc&limit=500`,
    { headers: { authorization: `Bearer ${deployment.adminToken}` } },
  );
  expect(response.status).toBe(200);
  const { records } = (await response.json()) as { records: { event: { action: string } }[] };
  return records.filter((record) => record.event.action === 'signin.refused').length;
}

describe('refused sign-ins and the audit log', () => {
  it('does not append one record per refused sign-in without bound', async () => {
    const before = await refusals();
    for (let attempt = 0; attempt < 25; attempt++) {
      const answer = await signInWithoutBrowser(deployment, 'bob');
      const response = await fetch(answer.callback, {
        redirect: 'manual',
        headers: { cookie: answer.transactionCookie },
      });
      expect(response.status).toBe(403);
    }
    const recorded = (await refusals()) - before;
    expect(recorded).toBeGreaterThanOrEqual(1); // refused people are still in the log
    expect(recorded).toBeLessThanOrEqual(5);
  }, 120_000);
});
