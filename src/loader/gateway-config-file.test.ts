/**
 * @module loader/gateway-config-file.test
 * The audit durability setting of `reins.yaml`: `full` unless the file says otherwise, `process` only
 * when asked for, and anything else refused at start with its position.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadGatewayConfig } from './gateway-config-file.js';

let directory: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'reins-gateway-config-'));
});
afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

/** reins.yaml with `settings`, and its upstreams: one stdio upstream unless `upstream` says otherwise. */
function load(settings: string, upstream = 'stdio: { command: node, args: [server.js] }') {
  const path = join(directory, 'reins.yaml');
  writeFileSync(
    path,
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
${settings}
upstreams:
  - name: fs
    ${upstream}
`,
  );
  return loadGatewayConfig(path);
}

describe('store durability in reins.yaml', () => {
  it('is causal when not given, with or without a store section', () => {
    for (const store of ['', 'store: { sqlite: reins.db }']) {
      const loaded = load(store);
      if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
      expect(loaded.config.store.durability).toBe('causal');
    }
  });

  it('is process only when the file asks for it', () => {
    const loaded = load('store: { sqlite: reins.db, durability: process }');
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
    expect(loaded.config.store).toEqual({ sqlite: join(directory, 'reins.db'), durability: 'process' });
  });

  it('refuses an unknown mode with its position', () => {
    const loaded = load('store:\n  sqlite: reins.db\n  durability: fast');
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(loaded.problems[0]).toMatchObject({ line: 6 });
    expect(loaded.problems[0]?.message).toMatch(/full|process/);
  });
});

describe('audit checkpoints in reins.yaml', () => {
  it('signs every 1,000 records and publishes nowhere unless told', () => {
    const loaded = load('');
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
    expect(loaded.config.audit.checkpoints).toEqual({ every: 1_000, publish: {} });
  });

  it('resolves the publication directory against the file and keeps the webhook and OTLP endpoint', () => {
    const loaded = load(`audit:
  checkpoints:
    every: 500
    publish: { directory: published, webhook: "https://audit.example/checkpoints", otlp: "http://127.0.0.1:4318/v1/logs" }`);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
    expect(loaded.config.audit.checkpoints).toEqual({
      every: 500,
      publish: {
        directory: join(directory, 'published'),
        webhook: 'https://audit.example/checkpoints',
        otlp: 'http://127.0.0.1:4318/v1/logs',
      },
    });
  });

  it('refuses an unknown target, a cadence of zero and a webhook that is not http(s)', () => {
    for (const audit of [
      'audit: { checkpoints: { publish: { s3: bucket } } }',
      'audit: { checkpoints: { every: 0 } }',
      'audit: { checkpoints: { publish: { webhook: "file:///etc/passwd" } } }',
    ]) {
      expect(load(audit).ok, audit).toBe(false);
    }
  });
});

describe("each session's share of an upstream in reins.yaml", () => {
  const withHttpUpstream = (http: string, limits = '') =>
    load(limits, `http: { url: "http://127.0.0.1:9/mcp"${http} }`);

  it('is 16 calls in flight unless the file says otherwise', () => {
    const loaded = load('');
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
    expect(loaded.config.limits.maxUpstreamCallsPerSession).toBe(16);
    const lowered = load('limits: { maxUpstreamCallsPerSession: 4 }');
    if (!lowered.ok) throw new Error(JSON.stringify(lowered.problems));
    expect(lowered.config.limits.maxUpstreamCallsPerSession).toBe(4);
  });

  it("refuses an HTTP upstream whose connections one session's share could fill, and says what to change", () => {
    const loaded = withHttpUpstream(', maxConnections: 17');
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(loaded.problems[0]?.message).toMatch(/more than 17, or lower the share/);
    // the default 128 connections against a share raised as far
    expect(withHttpUpstream('', 'limits: { maxUpstreamCallsPerSession: 127 }').ok).toBe(false);
    expect(withHttpUpstream(', maxConnections: 18').ok).toBe(true);
    expect(withHttpUpstream(', maxConnections: 8', 'limits: { maxUpstreamCallsPerSession: 4 }').ok).toBe(
      true,
    );
  });
});
