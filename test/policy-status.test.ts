/**
 * @module test/policy-status.test
 * What the control plane shows about the policy in force: its hash and files, and how the last reload
 * went (a rejected version keeps the old one and reports its problems at file:line:column).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { PolicyStatusTracker } from '../src/cli/policy-status.js';

const directory = mkdtempSync(join(tmpdir(), 'reins-policy-status-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const policy = (name: string) => `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: ${name} }
tools:
  - { server: ${name}, name: lookup, risk: low, effects: [read] }
rules:
  - { id: ${name}-lookups, effect: allow, tool: { server: ${name}, name: lookup }, reason: lookups are fine }
`;

it('reports the files and hash in force, a reload, and a rejected version', async () => {
  writeFileSync(join(directory, 'a.yaml'), policy('first'));
  writeFileSync(join(directory, 'a.test.yaml'), 'not a policy');
  const lines: string[] = [];
  const tracker = new PolicyStatusTracker(directory, (line) => lines.push(line));
  try {
    const first = tracker.status();
    expect(first.files).toEqual([join(directory, 'a.yaml')]);
    expect(first.hash).toBe(tracker.current.hash);
    expect(first.summary.rules).toBe(1);
    expect(first.lastReload).toBeUndefined();
    expect(tracker.readiness()).toEqual({ loaded: true, detail: first.hash });

    writeFileSync(join(directory, 'b.yaml'), policy('second'));
    await expect.poll(() => tracker.status().lastReload?.outcome, { timeout: 5_000 }).toBe('reloaded');
    expect(tracker.status().files).toEqual([join(directory, 'a.yaml'), join(directory, 'b.yaml')]);
    const reloadedHash = tracker.status().hash;
    expect(reloadedHash).not.toBe(first.hash);

    writeFileSync(join(directory, 'b.yaml'), 'rules: [ { id: broken');
    await expect.poll(() => tracker.status().lastReload?.outcome, { timeout: 5_000 }).toBe('rejected');
    const rejected = tracker.status();
    expect(rejected.hash).toBe(reloadedHash); // the old version stays in force
    expect(rejected.lastReload?.problems.join('\n')).toMatch(/b\.yaml:\d+:\d+/);
    expect(lines.join('\n')).toContain('stays in force');
    // readiness: still loaded (the old version is enforced), and it says the reload was rejected
    const ready = tracker.readiness();
    expect(ready.loaded).toBe(true);
    expect(ready.detail).toContain(reloadedHash);
    expect(ready.detail).toMatch(/was rejected, \d+ problems?: the previous policy stays in force/);
  } finally {
    tracker.stop();
  }
});
