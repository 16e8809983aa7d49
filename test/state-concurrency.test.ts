/**
 * @module test/state-concurrency.test
 * N processes x M concurrent callers against one budget, on one SQLite file (issue 14): three built
 * `reins gateway` processes on the embedded store, three callers each (official SDK clients over HTTP),
 * the real server-everything behind them. The budget is never exceeded, and every unit reserved by a
 * payment that then did not run (refused by a human, expired, given up while held) comes back: what the
 * run did not spend is exactly what remains (test/support/concurrency-scenario.ts; its PostgreSQL twin
 * is state-concurrency-postgres).
 */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { budgetKept, CONCURRENCY_LIMITS, runConcurrencyScenario } from './support/concurrency-scenario.js';
import { type EverythingServer, startEverythingServer } from './support/everything-server.js';
import { killMarked } from './support/marked-processes.js';
import { createStatefulDeployment, type StatefulDeployment } from './support/stateful-deployment.js';

const mark = `state-concurrency-${randomUUID()}`;
let upstream: EverythingServer;
let deployment: StatefulDeployment | undefined;
beforeAll(async () => {
  upstream = await startEverythingServer(mark);
}, 30_000);
afterAll(async () => {
  await upstream?.close();
  killMarked(mark);
  if (deployment) rmSync(deployment.directory, { recursive: true, force: true });
});

describe('one budget, three processes on one SQLite file, concurrent callers', () => {
  it('is never exceeded, and every unit a call reserved but did not use comes back', async () => {
    deployment = createStatefulDeployment({
      store: 'sqlite',
      limits: CONCURRENCY_LIMITS,
      upstream: upstream.url,
    });
    const { observed, expected } = budgetKept(await runConcurrencyScenario(deployment, mark));
    expect(observed).toEqual(expected);
  }, 120_000); // about 15 s on an idle machine; a loaded one takes several times that
});
