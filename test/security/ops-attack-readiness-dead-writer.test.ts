/**
 * Fixed: `probeWritable` (both backends) first asks the log itself; a SQLite log whose writer thread
 * failed or exited (or any closed log) rejects with `audit_unavailable` (cause `writer_failed` /
 * `closed`) without opening a connection, so `/readyz` is 503 `store: not writable (writer_failed)`.
 *
 * ATTACK (readiness lying): `/readyz` says ready while every audit write fails.
 *
 * On SQLite (file store) the audit log commits through a writer thread (WorkerWriter). When that
 * thread dies (an uncaught error, the worker's heap limit, a native crash: `worker.on('exit')`), the
 * log fails closed: every pending and later append rejects, so the harness refuses every call from
 * then on, for the life of the process. The readiness store check (`probeWritable`) opens a *fresh*
 * connection to the file, takes BEGIN IMMEDIATE and rolls back: that succeeds, so `/readyz` keeps
 * answering 200 `store: writable`. A load balancer keeps routing every agent to a replica that can
 * only refuse, and the platform never restarts it.
 *
 * Reproduce: start the HTTP gateway of a reins.yaml on a SQLite file, terminate the audit log's
 * writer thread (standing in for its crash), append → rejects, GET /readyz → 200 ready.
 *
 * EXPECTED SAFE BEHAVIOUR: the store check reflects the log's own write path; once the writer has
 * failed for good, `/readyz` is 503 with the `store` check not ok.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigOrThrow } from '../../src/cli/deployment.js';
import { type HttpGatewayProcess, startHttpGatewayProcess } from '../../src/cli/gateway-process.js';
import type { Readiness } from '../../src/spec/ops.js';

let directory: string;
let gateway: HttpGatewayProcess;

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-ready-writer-'));
  writeFileSync(
    join(directory, 'policy.yaml'),
    'apiVersion: reins.dev/v1\nkind: Policy\nmetadata: { name: ready }\nrules: []\n',
  );
  writeFileSync(
    join(directory, 'reins.yaml'),
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: reins.db }
lock: reins.lock
listen: { host: 127.0.0.1, port: 0, path: /mcp }
`,
  );
  const { config, directory: base } = loadConfigOrThrow(join(directory, 'reins.yaml'));
  gateway = await startHttpGatewayProcess(config, base, () => {});
}, 60_000);

afterAll(async () => {
  await gateway?.close().catch(() => {});
  rmSync(directory, { recursive: true, force: true });
});

function event() {
  const id = randomUUID();
  return {
    v: 1 as const,
    id,
    time: new Date().toISOString(),
    kind: 'operator-action' as const,
    decisionId: id,
    actor: { id: 'tester@example.com', roles: [] },
    action: 'probe',
    target: { type: 'user', id: 'tester@example.com' },
    reason: 'probe',
    sessionId: '',
    agentId: '',
  };
}

describe('readiness and a dead audit writer', () => {
  it('is not ready once every audit append fails', async () => {
    const origin = new URL(gateway.endpoint).origin;
    // healthy first: ready, and an append commits
    await gateway.audit.append(event() as never);
    expect((await fetch(`${origin}/readyz`)).status).toBe(200);

    // the writer thread dies (as on a crash or its heap limit)
    const worker = (gateway.audit as unknown as { writer: { worker: Worker } }).writer.worker;
    await worker.terminate();
    await expect(gateway.audit.append(event() as never)).rejects.toThrow();
    await expect(gateway.audit.append(event() as never)).rejects.toThrow(); // for good

    await new Promise((resolve) => setTimeout(resolve, 1_100)); // past the probe's reuse window
    const response = await fetch(`${origin}/readyz`);
    const body = (await response.json()) as Readiness;
    expect(body.checks.find((check) => check.name === 'store')?.ok).toBe(false);
    expect(response.status).toBe(503);
  }, 60_000);
});
