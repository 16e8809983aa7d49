/**
 * @module test/security/audit-rewrite.test
 * Issue 11, finding "audit verification can be satisfied by a rewrite". An intruder with write access
 * to the database (but not to the signing key) edits a record, recomputes every later hash with the
 * chain's own functions, deletes the checkpoint rows that would betray the rewrite, and runs the real
 * `reins audit verify` (built bin) against the SQLite file and the PostgreSQL database. Verification
 * must fail: a log that long must carry checkpoints, and checkpoints the intruder signs with a key of
 * his own must not be accepted.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkRecord } from '../../src/audit/chain.js';
import { CheckpointSigner } from '../../src/audit/checkpoint.js';
import { CheckpointPublisher, checkpointTargets } from '../../src/export/checkpoint-publisher.js';
import type { AuditCheckpointV1 } from '../../src/spec/audit-checkpoint.js';
import type { ChainedRecord } from '../../src/spec/audit-event.js';
import { type AuditLog, DEFAULT_CHECKPOINT_EVERY } from '../../src/store/audit-log.js';
import { PostgresAuditLog } from '../../src/store/postgres/postgres-audit-log.js';
import { publicKeyPem } from '../../src/store/signing-key.js';
import { SqliteAuditLog } from '../../src/store/sqlite/sqlite-audit-log.js';
import { intentEvent } from '../support/audit-fixtures.js';

const ROOT = resolve(import.meta.dirname, '../..');
const ADMIN_URL = process.env.REINS_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** Enough records for three checkpoints at the default cadence (and one more on close). */
const RECORDS = 3 * DEFAULT_CHECKPOINT_EVERY + 500;
/** The record the intruder edits: long before the last checkpoint. */
const TARGET = 1_200;
/** An empty working directory: no `.reins/` signing key to fall back on. */
const CWD = mkdtempSync(join(tmpdir(), 'reins-audit-rewrite-cwd-'));

function reins(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(ROOT, 'bin/reins.js'), ...args], {
    cwd: CWD,
    encoding: 'utf8',
    env: { ...process.env, REINS_DATABASE_URL: '', REINS_SIGNING_KEY: '' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A new checkpoint key, written to `path` (0600) as versions before decision 0011 kept it. */
function keyFile(path: string): KeyObject {
  const { privateKey } = generateKeyPairSync('ed25519');
  writeFileSync(path, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  return privateKey;
}

async function fill(log: AuditLog): Promise<void> {
  for (let offset = 0; offset < RECORDS; offset += 500)
    await Promise.all(Array.from({ length: 500 }, (_, index) => log.append(intentEvent(offset + index))));
}

/** What the intruder computes: record TARGET edited, every record after it relinked. */
function rewritten(records: readonly ChainedRecord[]): ChainedRecord[] {
  let previous = records[TARGET - 2] as ChainedRecord;
  const changed: ChainedRecord[] = [];
  for (const record of records.slice(TARGET - 1)) {
    const body =
      record.seq === TARGET ? record.body.replace('"customers"', '"nothing-to-see-here"') : record.body;
    const relinked = linkRecord(previous, { ...record, body });
    changed.push(relinked);
    previous = relinked;
  }
  return changed;
}

/** Checkpoints the intruder signs with a key of his own, at the cadence verification expects. */
function forgedCheckpoints(records: readonly ChainedRecord[]): AuditCheckpointV1[] {
  const signer = new CheckpointSigner(generateKeyPairSync('ed25519').privateKey);
  return records
    .filter((record) => record.seq % DEFAULT_CHECKPOINT_EVERY === 0 || record.seq === records.length)
    .map((record) => signer.sign(record.seq, record.hash, new Date()));
}

describe('an intruder with write access to the SQLite file rewrites history', () => {
  let directory: string;
  let db: string;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'reins-audit-rewrite-'));
    db = join(directory, 'audit.db');
    // the key where `reins` keeps it by default: beside the log
    const signer = new CheckpointSigner(keyFile(join(directory, 'audit-signing-key.pem')));
    const log = new SqliteAuditLog({ path: db, signer });
    await fill(log);
    await log.close();
    const before = reins('audit', 'verify', '--db', db);
    expect(before.code, before.stderr).toBe(0);
    expect(before.stdout).toMatch(/chain intact, [4-9] checkpoints \(signatures checked/);

    const database = new Database(db);
    const records = database
      .prepare(
        `select seq, prev_hash as prevHash, hash, body, time, kind, decision_id as decisionId,
                session_id as sessionId, agent_id as agentId, tool, effect from audit_events order by seq`,
      )
      .all() as ChainedRecord[];
    const update = database.prepare(
      'update audit_events set body = ?, prev_hash = ?, hash = ? where seq = ?',
    );
    database.transaction(() => {
      for (const record of rewritten(records))
        update.run(record.body, record.prevHash, record.hash, record.seq);
      database.prepare('delete from audit_checkpoints').run();
    })();
    database.close();
  }, 60_000);
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('`reins audit verify` reports the missing checkpoints', () => {
    const result = reins('audit', 'verify', '--db', db);
    expect(result.stdout).not.toMatch(/^ok:/);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`first bad record ${DEFAULT_CHECKPOINT_EVERY} (missing_checkpoint)`);
  });
});

describe('an intruder with write access to the PostgreSQL database rewrites history', () => {
  const database = `reins_rewrite_${randomBytes(6).toString('hex')}`;
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  let directory: string;
  let publicKeyFile: string;
  let client: Client;

  async function readRecords(): Promise<ChainedRecord[]> {
    const { rows } = await client.query<ChainedRecord & { seq: string }>(
      `select seq, prev_hash as "prevHash", hash, body, time, kind, decision_id as "decisionId",
              session_id as "sessionId", agent_id as "agentId", tool, effect from audit_events order by seq`,
    );
    return rows.map((row) => ({ ...row, seq: Number(row.seq) }));
  }

  beforeAll(async () => {
    const admin = new Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`create database ${database}`);
    await admin.end();
    directory = mkdtempSync(join(tmpdir(), 'reins-audit-rewrite-pg-'));
    const key = keyFile(join(directory, 'audit-signing-key.pem'));
    publicKeyFile = join(directory, 'audit-public-key.pem');
    writeFileSync(publicKeyFile, publicKeyPem(key));
    const log = await PostgresAuditLog.open({
      connectionString: url.toString(),
      signer: new CheckpointSigner(key),
    });
    await fill(log);
    await log.close();
    const before = reins('audit', 'verify', '--database-url', url.toString(), '--public-key', publicKeyFile);
    expect(before.code, before.stderr).toBe(0);

    client = new Client({ connectionString: url.toString() });
    await client.connect();
    await client.query('begin');
    const changed = rewritten(await readRecords());
    await client.query(
      `update audit_events set body = c.body, prev_hash = c.prev_hash, hash = c.hash
         from unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) as c(seq, body, prev_hash, hash)
        where audit_events.seq = c.seq`,
      [
        changed.map((record) => record.seq),
        changed.map((record) => record.body),
        changed.map((record) => record.prevHash),
        changed.map((record) => record.hash),
      ],
    );
    await client.query('delete from audit_checkpoints');
    await client.query('commit');
  }, 60_000);
  afterAll(async () => {
    await client?.end();
    if (directory) rmSync(directory, { recursive: true, force: true });
    const admin = new Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`drop database if exists ${database} with (force)`);
    await admin.end();
  });

  it('`reins audit verify` reports the missing checkpoints, with or without a key', () => {
    for (const keyArgs of [['--public-key', publicKeyFile], []]) {
      const result = reins('audit', 'verify', '--database-url', url.toString(), ...keyArgs);
      expect(result.stdout).not.toMatch(/^ok:/);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`first bad record ${DEFAULT_CHECKPOINT_EVERY} (missing_checkpoint)`);
    }
  });

  it('checkpoints the intruder signs himself are refused, and not silently accepted without a key', async () => {
    const forged = forgedCheckpoints(await readRecords());
    for (const checkpoint of forged)
      await client.query(
        'insert into audit_checkpoints (seq, hash, time, key_id, signature) values ($1, $2, $3, $4, $5)',
        [checkpoint.seq, checkpoint.hash, checkpoint.time, checkpoint.keyId, checkpoint.signature],
      );
    const withKey = reins('audit', 'verify', '--database-url', url.toString(), '--public-key', publicKeyFile);
    expect(withKey.code).toBe(1);
    expect(withKey.stderr).toContain('(bad_checkpoint)');
    // without a trusted key nothing tells the intruder's checkpoints from ours: that is not "ok"
    const withoutKey = reins('audit', 'verify', '--database-url', url.toString());
    expect(withoutKey.stdout).not.toMatch(/^ok:/);
    expect(withoutKey.code).toBe(1);
    expect(withoutKey.stderr).toMatch(/signatures were not checked/i);
  });
});

describe('checkpoints published outside the database catch what the database alone cannot', () => {
  let directory: string;
  let db: string;
  let published: string;
  let publicKeyFile: string;

  /** A short log (below the cadence: only the close checkpoint), its checkpoints published as signed. */
  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'reins-audit-published-'));
    db = join(directory, 'audit.db');
    published = join(directory, 'published');
    const key = keyFile(join(directory, 'audit-signing-key.pem'));
    publicKeyFile = join(directory, 'kept-elsewhere.pem');
    writeFileSync(publicKeyFile, publicKeyPem(key));
    const publisher = new CheckpointPublisher({
      targets: checkpointTargets({ directory: published }),
      log: () => {},
    });
    const log = new SqliteAuditLog({
      path: db,
      signer: new CheckpointSigner(key),
      onCheckpoint: (checkpoint) => publisher.publish(checkpoint),
    });
    await Promise.all(Array.from({ length: 60 }, (_, index) => log.append(intentEvent(index))));
    await log.checkpoint();
    await Promise.all(Array.from({ length: 40 }, (_, index) => log.append(intentEvent(60 + index))));
    await log.close();
    await publisher.close();
  }, 60_000);
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  function copyOfLog(): string {
    const copy = join(mkdtempSync(join(directory, 'copy-')), 'audit.db');
    copyFileSync(db, copy);
    return copy;
  }

  function verifyAgainstPublished(path: string) {
    return reins('audit', 'verify', '--db', path, '--public-key', publicKeyFile, '--checkpoints', published);
  }

  it('an untouched log agrees with every published checkpoint', () => {
    const result = verifyAgainstPublished(db);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('published: 2 checkpoints agree with the log, the last at record 100');
  });

  it('a rewrite with the checkpoint rows deleted is caught against the published copy', () => {
    const copy = copyOfLog();
    const database = new Database(copy);
    const records = database
      .prepare(
        `select seq, prev_hash as prevHash, hash, body, time, kind, decision_id as decisionId,
                session_id as sessionId, agent_id as agentId, tool, effect from audit_events order by seq`,
      )
      .all() as ChainedRecord[];
    let previous = records[8] as ChainedRecord;
    const update = database.prepare(
      'update audit_events set body = ?, prev_hash = ?, hash = ? where seq = ?',
    );
    for (const record of records.slice(9)) {
      const body =
        record.seq === 10 ? record.body.replace('"customers"', '"nothing-to-see-here"') : record.body;
      const relinked = linkRecord(previous, { ...record, body });
      update.run(relinked.body, relinked.prevHash, relinked.hash, relinked.seq);
      previous = relinked;
    }
    database.prepare('delete from audit_checkpoints').run();
    database.close();
    // below the cadence the database alone cannot tell (the limit decision 0012 names)...
    expect(reins('audit', 'verify', '--db', copy, '--public-key', publicKeyFile).code).toBe(0);
    // ...the published checkpoints can
    const result = verifyAgainstPublished(copy);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('first bad record 60 (checkpoint_mismatch)');
  });

  it('a cut tail and a log emptied of every record are reported as truncated', () => {
    for (const sql of ['delete from audit_events where seq > 80', 'delete from audit_events']) {
      const copy = copyOfLog();
      const database = new Database(copy);
      database.exec(`${sql}; delete from audit_checkpoints;`);
      database.close();
      const result = verifyAgainstPublished(copy);
      expect(result.code, sql).toBe(1);
      expect(result.stderr).toContain('(truncated)');
    }
  });
});
