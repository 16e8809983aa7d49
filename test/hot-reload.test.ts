/**
 * @module test/hot-reload.test
 * Hot reload: a valid new version replaces the old one atomically under concurrent calls; an invalid
 * one is rejected with its problems while the old one stays in force; file changes are picked up.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness } from '../src/harness/harness.js';
import { PolicyWatcher, type ReloadEvent } from '../src/loader/policy-watcher.js';
import type { AuditEventV1, CallIntentEvent } from '../src/spec/audit-event.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { eventually } from './support/eventually.js';

function policyText(effect: 'allow' | 'deny', version: number): string {
  return `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: reloadable, description: "version ${version}" }
tools:
  - { server: crm, name: "db.select", risk: low, effects: [read] }
rules:
  - { id: the-rule, effect: ${effect}, reason: "version ${version} says ${effect}" }
`;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

function setup(): { path: string; watcher: PolicyWatcher; events: ReloadEvent[] } {
  const path = join(mkdtempSync(join(tmpdir(), 'reins-reload-')), 'policy.yaml');
  writeFileSync(path, policyText('allow', 0));
  const events: ReloadEvent[] = [];
  const watcher = new PolicyWatcher({ path, onReload: (event) => events.push(event), debounceMs: 20 });
  cleanups.push(() => watcher.stop());
  return { path, watcher, events };
}

describe('PolicyWatcher', () => {
  it('swaps versions atomically while calls are in flight: every decision matches the version it names', async () => {
    const { path, watcher } = setup();
    const audit = new SqliteAuditLog({ path: ':memory:' });
    cleanups.push(() => audit.close());
    const harness = new Harness({ policy: watcher, audit });
    const expectedEffect = new Map<string, 'allow' | 'deny'>([[watcher.current.hash, 'allow']]);
    const calls: Promise<unknown>[] = [];
    for (let version = 1; version <= 40; version++) {
      for (let index = 0; index < 25; index++) {
        calls.push(
          harness.call(
            {
              principal: { agentId: 'a' },
              sessionId: `s${version}-${index}`,
              tool: { server: 'crm', name: 'db.select' },
            },
            async () => new Promise((resolve) => setImmediate(() => resolve('rows'))),
          ),
        );
      }
      const effect = version % 2 === 0 ? 'allow' : 'deny';
      writeFileSync(path, policyText(effect, version));
      const event = watcher.reload();
      expect(event.kind).toBe('policy-reloaded');
      expectedEffect.set(watcher.current.hash, effect);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(calls);

    const intents: CallIntentEvent[] = [];
    const outcomes = new Map<string, string>();
    for await (const record of audit.records()) {
      const event = JSON.parse(record.body) as AuditEventV1;
      if (event.kind === 'call-intent') intents.push(event);
      else if (event.kind === 'call-outcome') outcomes.set(event.decisionId, event.outcome);
    }
    expect(intents).toHaveLength(1_000);
    expect(new Set(intents.map((intent) => intent.decision.policyHash)).size).toBeGreaterThan(10);
    for (const intent of intents) {
      const effect = expectedEffect.get(intent.decision.policyHash);
      expect(intent.decision.effect).toBe(effect);
      expect(intent.decision.reasons[0]).toMatch(new RegExp(`says ${effect}$`));
      expect(outcomes.get(intent.decisionId)).toBe(effect === 'allow' ? 'ok' : 'denied');
    }
  });

  it('rejects an invalid new version with its problems and keeps the old one in force', () => {
    const { path, watcher, events } = setup();
    const before = watcher.current.hash;
    writeFileSync(path, policyText('allow', 1).replace('effect: allow', "effect: allow, when: 'args.x +'"));
    const event = watcher.reload();
    expect(event.kind).toBe('policy-rejected');
    expect(event.kind === 'policy-rejected' && event.problems[0]?.message).toMatch(/rules\.0\.when/);
    expect(event.kind === 'policy-rejected' && event.problems[0]?.line).toBe(7);
    expect(watcher.current.hash).toBe(before);
    expect(events).toEqual([event]);
  });

  it('refuses to start on an invalid policy', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'reins-reload-')), 'policy.yaml');
    writeFileSync(path, 'apiVersion: reins.dev/v1\nkind: Policy\n');
    expect(() => new PolicyWatcher({ path })).toThrow(/is invalid:\n.*policy\.yaml/);
  });

  it('picks up a changed file from the file system', async () => {
    const { path, watcher, events } = setup();
    watcher.start(); // armed when it returns (inotify): a write right after it is seen
    writeFileSync(path, policyText('deny', 1));
    await eventually(() => expect(events.map((event) => event.kind)).toContain('policy-reloaded'));
    expect(watcher.current.documents[0]?.metadata.description).toBe('version 1');
  });
});
