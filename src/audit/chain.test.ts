/**
 * @module audit/chain.test
 * The hash chain on its own: linking, and each kind of tampering it must detect.
 */
import { describe, expect, it } from 'vitest';
import { intentEvent } from '../../test/support/audit-fixtures.js';
import { type ChainedRecord, prepareEvent } from '../spec/audit-event.js';
import { GENESIS_HASH, linkRecord, verifyChain } from './chain.js';
import { checkpointDue } from './checkpoint.js';

function chain(length: number): ChainedRecord[] {
  const records: ChainedRecord[] = [];
  for (let index = 0; index < length; index++)
    records.push(linkRecord(records.at(-1), prepareEvent(intentEvent(index))));
  return records;
}

describe('verifyChain', () => {
  it('accepts an intact chain and reports its head', async () => {
    const records = chain(5);
    expect(records[0]?.prevHash).toBe(GENESIS_HASH);
    const report = await verifyChain(records, { validateBodies: true });
    expect(report).toEqual({
      ok: true,
      checked: 5,
      lastSeq: 5,
      lastHash: records[4]?.hash,
      checkpointsVerified: 0,
      signaturesChecked: false,
    });
  });

  it('detects an edited body', async () => {
    const records = chain(5);
    const victim = records[2] as ChainedRecord;
    records[2] = { ...victim, body: victim.body.replace('customers', 'payroll') };
    expect((await verifyChain(records)).firstBad).toMatchObject({ seq: 3, problem: 'hash_mismatch' });
  });

  it('detects a deleted record', async () => {
    const records = chain(5);
    records.splice(1, 1);
    expect((await verifyChain(records)).firstBad).toMatchObject({ seq: 3, problem: 'sequence_gap' });
  });

  it('detects a deleted record even when the sequence numbers were rewritten', async () => {
    const records = chain(5);
    records.splice(1, 1);
    const renumbered = records.map((record, index) => ({ ...record, seq: index + 1 }));
    expect((await verifyChain(renumbered)).firstBad).toMatchObject({ seq: 2, problem: 'broken_link' });
  });

  it('detects two swapped records', async () => {
    const records = chain(5);
    const [second, third] = [records[1] as ChainedRecord, records[2] as ChainedRecord];
    records[1] = { ...third, seq: 2 };
    records[2] = { ...second, seq: 3 };
    expect((await verifyChain(records)).firstBad).toMatchObject({ seq: 2, problem: 'broken_link' });
  });

  it('detects a re-hashed edit (the attacker recomputes the edited record hash)', async () => {
    const records = chain(5);
    const original = records[1] as ChainedRecord;
    const edited = linkRecord(
      { seq: 1, hash: records[0]?.hash as string },
      { ...original, body: original.body.replace('customers', 'payroll') },
    );
    records[1] = edited;
    expect((await verifyChain(records)).firstBad).toMatchObject({ seq: 3, problem: 'broken_link' });
  });

  it('rejects a body that is not an audit event when asked to validate bodies', async () => {
    const records = [linkRecord(undefined, { ...prepareEvent(intentEvent(0)), body: '{"hello":"world"}' })];
    expect((await verifyChain(records)).ok).toBe(true);
    expect((await verifyChain(records, { validateBodies: true })).firstBad).toMatchObject({
      problem: 'invalid_body',
    });
  });
});

describe('checkpointDue', () => {
  it('is due after `every` unsigned records, or on demand when the head is unsigned', () => {
    expect(checkpointDue(9, 0, 10, false)).toBe(false);
    expect(checkpointDue(10, 0, 10, false)).toBe(true);
    expect(checkpointDue(25, 20, 10, false)).toBe(false);
    expect(checkpointDue(25, 20, 10, true)).toBe(true);
    expect(checkpointDue(20, 20, 10, true)).toBe(false);
  });
});
