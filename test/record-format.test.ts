/**
 * @module test/record-format.test
 * Old logs keep verifying and reading after an upgrade (issue 13, docs/record-format.md). The fixture
 * test/fixtures/audit-v1 was written once by the record format of its day and is never regenerated: the
 * current code must verify its chain and signed checkpoints (library and built CLI), re-verify its JSON
 * Lines export, and parse every record with the current schema. Adding an optional field must keep
 * this green; if it fails, the change broke old logs. Also: how records of a newer version are read.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkRecord, verifyChain } from '../src/audit/chain.js';
import { readJsonLines } from '../src/export/jsonl-export.js';
import {
  AuditEventV1Schema,
  type ChainedRecord,
  indexFieldsOf,
  RECORD_KINDS,
  readAuditRecord,
} from '../src/spec/audit-event.js';
import { loadPublicKey } from '../src/store/signing-key.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';

const ROOT = resolve(import.meta.dirname, '..');
const FIXTURE = join(ROOT, 'test/fixtures/audit-v1');
/** What the fixture holds (its README): fixed forever, like the files. */
const RECORDS = 31;
const CHECKPOINTS = 7;
const CHECKPOINT_EVERY = 5;
/** The fixture as committed: a changed file is a regenerated or edited fixture, which proves nothing. */
const FIXTURE_SHA256 = {
  'audit.db': '87978eb2f8c350c88e64790522f79e4643c25b98b45219c48e4bd534aa019278',
  'audit.jsonl': 'f0c9a1f15508959d03fb7380859fc0c38389f9764e0305055356f026bdf0c46b',
  'public-key.pem': 'cf57cdb4d9b1b80dc956b45c7d9f0ff332351c1ea647edc5b40c0c84138a721a',
};

let directory: string;
let db: string;
const publicKeyFile = join(FIXTURE, 'public-key.pem');

beforeAll(() => {
  // a copy: opening a SQLite file can touch it (WAL files), and the committed fixture must stay as it is
  directory = mkdtempSync(join(tmpdir(), 'reins-record-format-'));
  cpSync(FIXTURE, directory, { recursive: true });
  db = join(directory, 'audit.db');
});

afterAll(() => {
  rmSync(directory, { recursive: true, force: true });
});

async function storedRecords(): Promise<ChainedRecord[]> {
  const log = new SqliteAuditLog({ path: db, readOnly: true });
  try {
    const records: ChainedRecord[] = [];
    for await (const record of log.records()) records.push(record);
    return records;
  } finally {
    await log.close();
  }
}

describe('an audit log written by record format v1 (test/fixtures/audit-v1)', () => {
  it('is the fixture as it was written, byte for byte (never regenerated: see its README)', () => {
    for (const [file, sha256] of Object.entries(FIXTURE_SHA256))
      expect(
        createHash('sha256')
          .update(readFileSync(join(FIXTURE, file)))
          .digest('hex'),
        file,
      ).toBe(sha256);
  });

  it('verifies: chain, signed checkpoints under the trusted key, cadence, query index', async () => {
    const log = new SqliteAuditLog({ path: db, readOnly: true });
    try {
      const report = await log.verify({
        publicKey: loadPublicKey(publicKeyFile),
        checkpointEvery: CHECKPOINT_EVERY,
      });
      expect(report).toMatchObject({
        ok: true,
        checked: RECORDS,
        lastSeq: RECORDS,
        checkpointsVerified: CHECKPOINTS,
        signaturesChecked: true,
      });
    } finally {
      await log.close();
    }
  });

  it('verifies with the built CLI: reins audit verify --public-key', () => {
    const result = spawnSync(
      process.execPath,
      [
        join(ROOT, 'bin/reins.js'),
        'audit',
        'verify',
        '--db',
        db,
        '--public-key',
        publicKeyFile,
        '--checkpoint-every',
        String(CHECKPOINT_EVERY),
      ],
      { cwd: directory, encoding: 'utf8', env: { ...process.env, REINS_DATABASE_URL: '' } },
    );
    expect(result.stderr).not.toMatch(/TAMPERED|NOT VERIFIED/);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(
        `^ok: .*: ${RECORDS} records, chain intact, ${CHECKPOINTS} checkpoints \\(signatures checked\\)`,
      ),
    );
  });

  it('re-verifies its JSON Lines export, which holds the same records as the log', async () => {
    const exported = readJsonLines(readFileSync(join(FIXTURE, 'audit.jsonl'), 'utf8'));
    expect(exported.records).toHaveLength(RECORDS);
    expect(exported.checkpoints).toHaveLength(CHECKPOINTS);
    const report = await verifyChain(exported.records, {
      checkpoints: exported.checkpoints,
      publicKey: loadPublicKey(publicKeyFile),
      checkpointEvery: CHECKPOINT_EVERY,
      validateBodies: true,
    });
    expect(report).toMatchObject({ ok: true, checked: RECORDS, checkpointsVerified: CHECKPOINTS });
    expect(exported.records.map((record) => record.hash)).toEqual(
      (await storedRecords()).map((record) => record.hash),
    );
  });

  it('parses every record with the current schema, and derives the same searchable fields', async () => {
    const records = await storedRecords();
    expect(records).toHaveLength(RECORDS);
    for (const record of records) {
      const parsed = AuditEventV1Schema.safeParse(JSON.parse(record.body));
      expect(parsed.error, `record ${record.seq} (${record.kind})`).toBeUndefined();
      if (!parsed.success) continue;
      expect(parsed.data.v).toBe(1);
      const { time, kind, decisionId, sessionId, agentId, tool, effect } = record;
      expect(indexFieldsOf(parsed.data)).toEqual({
        time,
        kind,
        decisionId,
        sessionId,
        agentId,
        tool,
        effect,
      });
    }
  });

  it('holds every record kind and outcome of its day (what the README promises)', async () => {
    const records = await storedRecords();
    const seen = new Set(records.map((record) => `${record.kind}:${record.effect}`));
    const expected = [
      ...['allow', 'deny', 'approve'].map((effect) => `call-intent:${effect}`),
      ...['ok', 'error', 'denied', 'expired', 'cancelled', 'abandoned'].map(
        (outcome) => `call-outcome:${outcome}`,
      ),
      'credential-rejected:rejected',
      ...['pinned', 'quarantined', 'refused'].map((status) => `tool-pinning:${status}`),
      'operator-action:session.kill',
    ];
    for (const pair of expected) expect(seen, pair).toContain(pair);
    const bodies = records.map((record) => JSON.parse(record.body) as Record<string, unknown>);
    expect(bodies.some((body) => body.repeated === 2)).toBe(true);
    expect(bodies.some((body) => JSON.stringify(body.args ?? '').includes('[REDACTED:'))).toBe(true);
  });
});

describe('reading records by kind and version (spec/records)', () => {
  it('reads every fixture record as the schema of the writers does, ignoring nothing', async () => {
    for (const record of await storedRecords()) {
      const reading = readAuditRecord(record.body);
      expect(reading, `record ${record.seq}`).toMatchObject({ ok: true, ignoredFields: [] });
      if (reading.ok) expect(reading.event).toEqual(AuditEventV1Schema.parse(JSON.parse(record.body)));
    }
  });

  it('defines each kind the writers write once, with its current version among those it reads', () => {
    const written = AuditEventV1Schema.options.map((option) => option.shape.kind.value);
    expect(RECORD_KINDS.map((definition) => definition.kind)).toEqual(written);
    for (const definition of RECORD_KINDS) expect(definition.versions[definition.current]).toBeDefined();
  });

  it('ignores, and names, fields a newer version added to a known version (an older reader of a newer record)', async () => {
    const records = await storedRecords();
    const outcome = records.find((record) => record.kind === 'call-outcome') as ChainedRecord;
    const intent = records.find((record) => record.kind === 'call-intent') as ChainedRecord;
    const newerOutcome = { ...JSON.parse(outcome.body), fieldFromTheFuture: '2031-01-01T00:00:00Z' };
    const newerIntent = JSON.parse(intent.body);
    newerIntent.decision.fieldFromTheFuture = ['rule-1'];
    expect(readAuditRecord(JSON.stringify(newerOutcome))).toMatchObject({
      ok: true,
      ignoredFields: ['fieldFromTheFuture'],
      event: JSON.parse(outcome.body),
    });
    expect(readAuditRecord(JSON.stringify(newerIntent))).toMatchObject({
      ok: true,
      ignoredFields: ['decision.fieldFromTheFuture'],
    });
    // writers stay strict: a field the current version does not define is a bug in the writer
    expect(AuditEventV1Schema.safeParse(newerOutcome).success).toBe(false);
  });

  it('reports an unknown kind, an unknown version and a body that does not match its version', async () => {
    const [first] = await storedRecords();
    const body = JSON.parse((first as ChainedRecord).body);
    expect(readAuditRecord(JSON.stringify({ ...body, kind: 'monitor-finding' }))).toMatchObject({
      ok: false,
      problem: 'unknown_kind',
      kind: 'monitor-finding',
      message: expect.stringContaining('unknown record kind `monitor-finding`'),
    });
    expect(readAuditRecord(JSON.stringify({ ...body, kind: 'toString' }))).toMatchObject({
      problem: 'unknown_kind',
    });
    expect(readAuditRecord(JSON.stringify({ ...body, v: 2 }))).toMatchObject({
      ok: false,
      problem: 'unknown_version',
      kind: 'call-intent',
      v: 2,
      message: expect.stringContaining('`call-intent` v2 is newer than this reader'),
    });
    const { decision: _dropped, ...withoutDecision } = body;
    expect(readAuditRecord(JSON.stringify(withoutDecision))).toMatchObject({
      ok: false,
      problem: 'invalid',
      message: expect.stringContaining('decision'),
    });
    expect(readAuditRecord('{"v":1')).toMatchObject({ ok: false, problem: 'not_a_record' });
    expect(readAuditRecord('{"kind":"call-intent"}')).toMatchObject({ ok: false, problem: 'not_a_record' });
  });

  it('verifies a chain holding a kind it cannot read; reading the bodies names the record and the kind', async () => {
    const [first] = await storedRecords();
    const future = JSON.stringify({ v: 1, id: 'f-1', kind: 'monitor-finding', time: first?.time });
    const one = linkRecord(undefined, first as ChainedRecord);
    const chained = [
      one,
      linkRecord(one, { ...(first as ChainedRecord), kind: 'monitor-finding', body: future }),
    ];
    expect(await verifyChain(chained)).toMatchObject({ ok: true, checked: 2 });
    expect((await verifyChain(chained, { validateBodies: true })).firstBad).toMatchObject({
      seq: 2,
      problem: 'invalid_body',
      message: expect.stringContaining('unknown record kind `monitor-finding`'),
    });
  });
});
