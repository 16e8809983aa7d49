/**
 * @module test/ops-readiness-policy.test
 * `/readyz`'s `policy` check follows the policy in force (cli/policy-status): the hash of the policy
 * the gateway enforces; after a rejected hot reload the previous policy stays in force (the gateway
 * keeps enforcing it: fail closed, never no policy), so the check stays ok but says the reload was
 * rejected, without quoting the problems (the endpoint is public); a good version clears it.
 * A real HTTP gateway of a reins.yaml on a SQLite file; the policy file is rewritten on disk.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigOrThrow } from '../src/cli/deployment.js';
import { type HttpGatewayProcess, startHttpGatewayProcess } from '../src/cli/gateway-process.js';
import type { Readiness, ReadinessCheck } from '../src/spec/ops.js';

let directory: string;
let gateway: HttpGatewayProcess;

const policy = (name: string) =>
  `apiVersion: reins.dev/v1\nkind: Policy\nmetadata: { name: ${name} }\nrules: []\n`;

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-ready-policy-'));
  writeFileSync(join(directory, 'policy.yaml'), policy('first'));
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
  await gateway?.close();
  rmSync(directory, { recursive: true, force: true });
});

async function readiness(): Promise<{ status: number; policy: ReadinessCheck | undefined }> {
  const response = await fetch(`${new URL(gateway.endpoint).origin}/readyz`);
  const body = (await response.json()) as Readiness;
  return { status: response.status, policy: body.checks.find((check) => check.name === 'policy') };
}

describe('readiness of the policy in force', () => {
  it('names the policy in force, and a rejected reload while the previous one stays in force', async () => {
    const first = gateway.policy.current.hash;
    const fresh = await readiness();
    expect(fresh.status).toBe(200);
    expect(fresh.policy).toEqual({ name: 'policy', ok: true, detail: first });

    writeFileSync(join(directory, 'policy.yaml'), 'rules: [ { id: broken');
    await expect
      .poll(async () => (await readiness()).policy?.detail, { timeout: 10_000 })
      .toMatch(/rejected/);
    const rejected = await readiness();
    // still ready: the gateway keeps enforcing the previous policy, and says so
    expect(rejected.status).toBe(200);
    expect(rejected.policy?.ok).toBe(true);
    expect(rejected.policy?.detail).toContain(first);
    expect(rejected.policy?.detail).toMatch(/previous policy stays in force/);
    expect(rejected.policy?.detail).not.toMatch(/broken|policy\.yaml/); // the problems are not public
    expect(gateway.policy.current.hash).toBe(first);

    writeFileSync(join(directory, 'policy.yaml'), policy('second'));
    await expect
      .poll(async () => (await readiness()).policy?.detail, { timeout: 10_000 })
      .not.toMatch(/rejected/);
    const second = gateway.policy.current.hash;
    expect(second).not.toBe(first);
    expect((await readiness()).policy).toEqual({ name: 'policy', ok: true, detail: second });
  }, 60_000);
});
