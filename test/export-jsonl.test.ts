/**
 * @module test/export-jsonl.test
 * JSON Lines export of a checkpointed audit log, read back and re-verified outside the store: intact,
 * with an edited body, with a rewritten tail, cut short, partial (anchored) and malformed.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { linkRecord, verifyChain } from '../src/audit/chain.js';
import { CheckpointSigner } from '../src/audit/checkpoint.js';
import { exportJsonLines, readJsonLines } from '../src/export/jsonl-export.js';
import type { AuditEventV1, ChainedRecord } from '../src/spec/audit-event.js';
import { ReinsError } from '../src/spec/errors.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { intentEvent, outcomeEvent } from './support/audit-fixtures.js';

const OUTCOMES = ['ok', 'error', 'denied', 'expired', 'cancelled'] as const;

/** 25 calls: intent then outcome, every fifth intent denied. Record 2i+1 is intent i, 2i+2 its outcome. */
function events(): AuditEventV1[] {
  return Array.from({ length: 25 }, (_, index) => {
    const intent = intentEvent(index, { sessionId: `session-${index % 3}` });
    const denied =
      intent.kind === 'call-intent' && index % 5 === 0
        ? { ...intent, decision: { ...intent.decision, effect: 'deny' as const, matchedRules: ['no-pii'] } }
        : intent;
    return [denied, outcomeEvent(index, index % 5 === 0 ? 'denied' : (OUTCOMES[index % 5] ?? 'ok'))];
  }).flat();
}

let signer: CheckpointSigner;
let log: SqliteAuditLog;

beforeEach(async () => {
  signer = new CheckpointSigner(generateKeyPairSync('ed25519').privateKey);
  log = new SqliteAuditLog({ path: ':memory:', signer, checkpointEvery: 10 });
  // one append at a time, so that a checkpoint is signed exactly every 10 records
  for (const event of events()) await log.append(event);
});

afterEach(async () => {
  await log.close();
});

async function exportLines(options?: Parameters<typeof exportJsonLines>[2]) {
  const lines: string[] = [];
  const report = await exportJsonLines(log, (line) => void lines.push(line), options);
  return { lines, report };
}

async function storedRecords(): Promise<ChainedRecord[]> {
  const records: ChainedRecord[] = [];
  for await (const record of log.records()) records.push(record);
  return records;
}

function editLine(lines: string[], seq: number, edit: (line: Record<string, unknown>) => void): string[] {
  return lines.map((line) => {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    if (parsed.type !== 'record' || parsed.seq !== seq) return line;
    edit(parsed);
    return `${JSON.stringify(parsed)}\n`;
  });
}

describe('exportJsonLines', () => {
  it('writes one line per record, then the signed checkpoints', async () => {
    const { lines, report } = await exportLines();
    expect(report).toEqual({ records: 50, checkpoints: 5 });
    expect(lines).toHaveLength(55);
    expect(lines.every((line) => line.endsWith('\n') && !line.slice(0, -1).includes('\n'))).toBe(true);

    const stored = await storedRecords();
    const first = JSON.parse(lines[0] as string);
    expect(Object.keys(first)).toEqual([
      'type',
      'seq',
      'prevHash',
      'hash',
      'time',
      'kind',
      'decisionId',
      'sessionId',
      'agentId',
      'tool',
      'effect',
      'body',
      'event',
    ]);
    expect(first).toMatchObject({ type: 'record', seq: 1, prevHash: '0'.repeat(64), effect: 'deny' });
    expect(first.body).toBe(stored[0]?.body);
    expect(first.event).toEqual(JSON.parse(stored[0]?.body ?? ''));

    const checkpointLines = lines.slice(50).map((line) => JSON.parse(line));
    expect(checkpointLines.map((line) => line.type)).toEqual(Array(5).fill('checkpoint'));
    expect(checkpointLines.map((line) => line.seq)).toEqual([10, 20, 30, 40, 50]);
    const { type: _type, ...checkpoint } = checkpointLines[0];
    expect(checkpoint).toEqual((await log.checkpoints())[0]);
  });

  it('reads back into the stored records and checkpoints, which verify with the public key', async () => {
    const { lines } = await exportLines();
    const imported = readJsonLines(lines.join(''));
    expect(imported.records).toEqual(await storedRecords());
    expect(imported.checkpoints).toEqual(await log.checkpoints());
    expect(imported.anchor).toBeUndefined();

    const report = await verifyChain(imported.records, {
      checkpoints: imported.checkpoints,
      publicKey: signer.publicKey,
      validateBodies: true,
    });
    expect(report).toMatchObject({
      ok: true,
      checked: 50,
      lastSeq: 50,
      checkpointsVerified: 5,
      signaturesChecked: true,
    });
  });

  it('leaves the checkpoints out on request', async () => {
    const { lines, report } = await exportLines({ includeCheckpoints: false });
    expect(report).toEqual({ records: 50, checkpoints: 0 });
    expect(readJsonLines(lines.join('')).checkpoints).toEqual([]);
  });

  it('exports a range anchored at its checkpoint, which verifies on its own', async () => {
    const { lines, report } = await exportLines({ afterSeq: 20 });
    expect(report).toEqual({ records: 30, checkpoints: 4 });
    const imported = readJsonLines(lines.join(''));
    expect(imported.records[0]?.seq).toBe(21);
    expect(imported.anchor?.seq).toBe(20);
    const options = { checkpoints: imported.checkpoints, publicKey: signer.publicKey };
    expect(
      await verifyChain(imported.records, {
        ...options,
        ...(imported.anchor ? { anchor: imported.anchor } : {}),
      }),
    ).toMatchObject({ ok: true, anchoredAt: 20, lastSeq: 50 });
  });

  it('exports an empty log as nothing', async () => {
    const empty = new SqliteAuditLog({ path: ':memory:', signer });
    const lines: string[] = [];
    expect(await exportJsonLines(empty, (line) => void lines.push(line))).toEqual({
      records: 0,
      checkpoints: 0,
    });
    expect(lines).toEqual([]);
    await empty.close();
  });

  it('awaits an asynchronous writer line by line', async () => {
    const written: string[] = [];
    let writing = false;
    await exportJsonLines(log, async (line) => {
      expect(writing).toBe(false);
      writing = true;
      await new Promise((resolve) => setImmediate(resolve));
      written.push(line);
      writing = false;
    });
    expect(written).toHaveLength(55);
  });
});

describe('verifying an edited export', () => {
  it('fails at the record whose body was edited (event edited to match)', async () => {
    const { lines } = await exportLines();
    // record 23 is the intent of call 11: change what it read
    const edited = editLine(lines, 23, (line) => {
      line.body = (line.body as string).replace('"customers"', '"payroll"');
      line.event = JSON.parse(line.body as string);
    });
    expect(edited.join('')).not.toBe(lines.join(''));
    const imported = readJsonLines(edited.join(''));
    const report = await verifyChain(imported.records, {
      checkpoints: imported.checkpoints,
      publicKey: signer.publicKey,
    });
    expect(report.ok).toBe(false);
    expect(report.firstBad).toMatchObject({ seq: 23, problem: 'hash_mismatch' });
    expect(report.lastSeq).toBe(22);
  });

  it('fails at the record whose index field was edited', async () => {
    const { lines } = await exportLines();
    const edited = editLine(lines, 8, (line) => {
      line.agentId = 'someone-else';
    });
    const imported = readJsonLines(edited.join(''));
    const report = await verifyChain(imported.records, { checkpoints: imported.checkpoints });
    expect(report.firstBad).toMatchObject({ seq: 8, problem: 'hash_mismatch' });
  });

  it('catches a tail rewritten with fresh hashes at the next signed checkpoint', async () => {
    const { lines } = await exportLines();
    const imported = readJsonLines(lines.join(''));
    const rewritten: ChainedRecord[] = [];
    for (const record of imported.records) {
      const head = rewritten.at(-1);
      const body = record.seq === 23 ? record.body.replace('"customers"', '"payroll"') : record.body;
      rewritten.push(record.seq < 23 ? record : linkRecord(head, { ...record, body }));
    }
    const report = await verifyChain(rewritten, {
      checkpoints: imported.checkpoints,
      publicKey: signer.publicKey,
    });
    expect(report.firstBad).toMatchObject({ seq: 30, problem: 'checkpoint_mismatch' });
  });

  it('detects records cut off the tail', async () => {
    const { lines } = await exportLines();
    const cut = [...lines.slice(0, 45), ...lines.slice(50)];
    const imported = readJsonLines(cut.join(''));
    const report = await verifyChain(imported.records, { checkpoints: imported.checkpoints });
    expect(report.firstBad).toMatchObject({ seq: 46, problem: 'truncated' });
  });

  it('detects a forged checkpoint signature', async () => {
    const { lines } = await exportLines();
    const other = new CheckpointSigner(generateKeyPairSync('ed25519').privateKey);
    const imported = readJsonLines(lines.join(''));
    const report = await verifyChain(imported.records, {
      checkpoints: imported.checkpoints,
      publicKey: other.publicKey,
    });
    expect(report.firstBad?.problem).toBe('bad_checkpoint');
  });
});

describe('readJsonLines', () => {
  const expectLineError = (text: string, message: RegExp) => {
    let caught: unknown;
    try {
      readJsonLines(text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ReinsError);
    expect((caught as ReinsError).code).toBe('invalid_input');
    expect((caught as ReinsError).message).toMatch(message);
  };

  it('rejects an `event` that no longer matches the hashed `body`', async () => {
    const { lines } = await exportLines();
    const edited = editLine(lines, 7, (line) => {
      (line.event as { sessionId: string }).sessionId = 'elsewhere';
    });
    expectLineError(edited.join(''), /^line 7: `event` differs from `body`$/);
  });

  it('names the line of invalid JSON, a bad field and an unknown type', async () => {
    const { lines } = await exportLines();
    const broken = [...lines];
    broken[2] = '{"type":"record",\n';
    expectLineError(broken.join(''), /^line 3: not valid JSON/);

    const badHash = editLine(lines, 5, (line) => {
      line.hash = 'nothex';
    });
    expectLineError(badHash.join(''), /^line 5: hash: expected 64 lowercase hex characters$/);

    const missing = editLine(lines, 4, (line) => {
      delete line.body;
    });
    expectLineError(missing.join(''), /^line 4: body: /);

    expectLineError(`${lines[0]}{"type":"comment"}\n`, /^line 2: unknown type `comment`/);
    expectLineError('[1,2]\n', /^line 1: expected an object with `type`/);
    const checkpoint = JSON.parse(lines[50] as string);
    expectLineError(`${JSON.stringify({ ...checkpoint, signature: 7 })}\n`, /^line 1: signature: /);
  });

  it('ignores blank lines and CRLF endings, and accepts records without `event`', async () => {
    const { lines } = await exportLines();
    const withoutEvents = editLine(lines, 1, (line) => {
      delete line.event;
    });
    const text = `\n${withoutEvents.map((line) => line.replace(/\n$/, '\r\n')).join('\n')}\n\n`;
    const imported = readJsonLines(text);
    expect(imported.records).toHaveLength(50);
    expect(imported.checkpoints).toHaveLength(5);
    expect((await verifyChain(imported.records, { checkpoints: imported.checkpoints })).ok).toBe(true);
  });
});
