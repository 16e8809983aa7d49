/**
 * @module test/state-restart.test
 * Limits, running totals, sequence rules and data-flow labels survive a restart of the gateway on the
 * embedded store (issue 14): the built `reins gateway` on a SQLite file, the real server-everything
 * behind it, official SDK clients over HTTP. The process is stopped (SIGTERM) or killed (SIGKILL) while
 * its agents are connected; a new one on the same file must decide the rest of the day as the first
 * would have (test/support/restart-scenario.ts; its PostgreSQL twin is state-restart-postgres).
 */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EverythingServer, startEverythingServer } from './support/everything-server.js';
import { killMarked } from './support/marked-processes.js';
import { expectedAfterRestart, RESTART_LIMITS, runRestartScenario } from './support/restart-scenario.js';
import { createStatefulDeployment } from './support/stateful-deployment.js';

const mark = `state-restart-${randomUUID()}`;
const directories: string[] = [];
let upstream: EverythingServer;
beforeAll(async () => {
  upstream = await startEverythingServer(mark);
}, 30_000);
afterAll(async () => {
  await upstream?.close();
  killMarked(mark);
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

describe('session state survives a gateway restart (SQLite)', () => {
  it.each(['SIGTERM', 'SIGKILL'] as const)(
    'after %s the new process allows exactly the rest of each budget and still sees every earlier call',
    async (signal) => {
      const deployment = createStatefulDeployment({
        store: 'sqlite',
        limits: RESTART_LIMITS,
        upstream: upstream.url,
      });
      directories.push(deployment.directory);
      const { after } = await runRestartScenario(deployment, signal, mark);
      expect(after).toEqual(expectedAfterRestart);
    },
    120_000, // about 8 s on an idle machine; a loaded one takes several times that
  );
});
