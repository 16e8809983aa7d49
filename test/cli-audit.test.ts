/**
 * @module test/cli-audit.test
 * The audit commands as a user runs them (built bin, child processes) on a log written by the demo:
 * query, show-session, export and re-verify, public key, checkpoint, prune, verify with keys.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../src/audit/chain.js';
import { readJsonLines } from '../src/export/jsonl-export.js';
import { createKeyDirectory } from '../src/keys/key-directory.js';
import { loadPublicKey } from '../src/store/signing-key.js';

const ROOT = resolve(import.meta.dirname, '..');
let directory: string;
let db: string;
let keys: string;

function reins(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(ROOT, 'bin/reins.js'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, REINS_DATABASE_URL: '', REINS_CHECKPOINT_KEYS: keys },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), 'reins-cli-audit-'));
  db = join(directory, 'audit.db');
  // the deployment's checkpoint key directory, apart from the log (decision 0011)
  keys = join(directory, 'keys');
  createKeyDirectory(keys);
  const demo = reins('demo', '--db', db);
  if (demo.code !== 0) throw new Error(`demo failed: ${demo.stdout}\n${demo.stderr}`);
});

describe('reins audit', () => {
  it('verifies the chain and its signed checkpoints with the key next to the log', () => {
    const result = reins('audit', 'verify', '--db', db);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^ok: .*: 72 records, chain intact, \d+ checkpoints \(signatures checked\)/,
    );
  });

  it('refuses checkpoints signed by another key', () => {
    const other = join(directory, 'other-key.pem');
    writeFileSync(other, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }), {
      mode: 0o600,
    });
    const result = reins('audit', 'verify', '--db', db, '--public-key', other);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('bad_checkpoint');
  });

  it('queries by agent and effect, as a table or JSON lines', () => {
    const table = reins('audit', 'query', '--db', db, '--agent', 'support-skill', '--effect', 'deny');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^seq +time +kind +agent +session +tool +effect\n/);
    expect(table.stdout).toMatch(/crm\/db\.execute +deny/);
    expect(table.stdout).toMatch(/\n2 records\n$/);
    const json = reins(
      'audit',
      'query',
      '--db',
      db,
      '--tool',
      'storefront/reviews.post',
      '--effect',
      'expired',
      '--format',
      'json',
    );
    const lines = json.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { event: { outcome: string } });
    expect(lines).toHaveLength(5);
    expect(lines.every((line) => line.event.outcome === 'expired')).toBe(true);
    expect(reins('audit', 'query', '--db', db, '--from', 'yesterday').code).toBe(2);
  });

  it('reconstructs a session step by step', () => {
    const result = reins('audit', 'show-session', '--db', db, 'ticket-1042');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^session ticket-1042: 5 calls/);
    expect(result.stdout).toMatch(/crm\/db\.execute by support-skill/);
    expect(result.stdout).toMatch(/DENY — support-skill is read-only/);
    const json = JSON.parse(
      reins('audit', 'show-session', '--db', db, 'ticket-1042', '--format', 'json').stdout,
    ) as {
      steps: { intent: unknown; outcome: { event: { links: unknown[] } } }[];
    };
    expect(json.steps).toHaveLength(5);
    expect(json.steps.every((step) => step.intent && step.outcome.event.links.length === 1)).toBe(true);
    expect(reins('audit', 'show-session', '--db', db, 'no-such-session').code).toBe(1);
  });

  it('exports JSON Lines that verify outside Reins', () => {
    const out = join(directory, 'export.jsonl');
    const result = reins('audit', 'export', '--db', db, '--out', out);
    expect(result.code).toBe(0);
    const exported = readJsonLines(readFileSync(out, 'utf8'));
    expect(exported.records).toHaveLength(72);
    return verifyChain(exported.records, {
      checkpoints: exported.checkpoints,
      publicKey: loadPublicKey(join(keys, 'signing-key.pem')),
    }).then((report) => expect(report).toMatchObject({ ok: true, checked: 72 }));
  });

  it('signs a checkpoint on demand, and detects a cut tail against a checkpoint kept elsewhere', () => {
    const copy = join(directory, 'copy.db');
    writeFileSync(copy, readFileSync(db));
    writeFileSync(join(directory, 'copy-key.pem'), readFileSync(join(keys, 'signing-key.pem')), {
      mode: 0o600,
    });
    const signed = reins(
      'audit',
      'checkpoint',
      '--db',
      copy,
      '--signing-key',
      join(directory, 'copy-key.pem'),
    );
    expect(signed.code).toBe(0);
    const external = join(directory, 'checkpoint.json');
    const checkpoint = JSON.parse(signed.stdout) as { seq: number };
    writeFileSync(external, signed.stdout);
    expect(
      reins(
        'audit',
        'verify',
        '--db',
        copy,
        '--signing-key',
        join(directory, 'copy-key.pem'),
        '--checkpoint',
        external,
      ).code,
    ).toBe(0);
    // an intruder cuts the last records and every checkpoint that would betray it
    const database = new Database(copy);
    database.exec(`delete from audit_events where seq > 50; delete from audit_checkpoints where seq > 40;
      delete from audit_lookup where seq > 50; update audit_lookup_state set last_seq = min(last_seq, 50);`);
    database.close();
    const inside = reins('audit', 'verify', '--db', copy, '--signing-key', join(directory, 'copy-key.pem'));
    expect(inside.code).toBe(0); // from inside the log it looks like a shorter, valid log...
    const against = reins(
      'audit',
      'verify',
      '--db',
      copy,
      '--signing-key',
      join(directory, 'copy-key.pem'),
      '--checkpoint',
      external,
    );
    expect(against.code).toBe(1); // ...but not against the checkpoint kept elsewhere
    expect(against.stderr).toContain('(truncated)');
    expect(checkpoint.seq).toBe(72);
  });

  it('prunes up to an old checkpoint and still verifies', () => {
    const copy = join(directory, 'prune.db');
    writeFileSync(copy, readFileSync(db));
    const key = join(keys, 'signing-key.pem');
    const pruned = reins('audit', 'prune', '--db', copy, '--signing-key', key, '--older-than', '0s');
    expect(pruned.code).toBe(2); // 0s is not a positive duration
    const ok = reins('audit', 'prune', '--db', copy, '--signing-key', key, '--older-than', '1ms');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^pruned \d+ records up to record \d+/);
    const verified = reins('audit', 'verify', '--db', copy, '--signing-key', key);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/pruned before record \d+ \(anchored on a signed checkpoint\)/);
  });
});
