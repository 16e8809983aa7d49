/**
 * @module audit/chain.test
 * The hash chain on its own: linking, and each kind of tampering it must detect.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { intentEvent } from '../../test/support/audit-fixtures.js';
import { type ChainedRecord, prepareEvent } from '../spec/audit-event.js';
import { GENESIS_HASH, linkRecord, verifyChain } from './chain.js';
import { CheckpointSigner, checkpointSeqsDue, forcedCheckpointDue } from './checkpoint.js';

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

describe('checkpoint cadence', () => {
  it('signs every `every`-th record after the last signed one, however large the batch', () => {
    expect(checkpointSeqsDue(0, 9, 10)).toEqual([]);
    expect(checkpointSeqsDue(0, 10, 10)).toEqual([10]);
    expect(checkpointSeqsDue(20, 25, 10)).toEqual([]);
    expect(checkpointSeqsDue(7, 40, 10)).toEqual([17, 27, 37]);
    expect(forcedCheckpointDue(25, 20)).toBe(true);
    expect(forcedCheckpointDue(20, 20)).toBe(false);
  });

  function signedChain(length: number, every: number, signer: CheckpointSigner) {
    const records = chain(length);
    const checkpoints = checkpointSeqsDue(0, length, every).map((seq) =>
      signer.sign(seq, records[seq - 1]?.hash as string, new Date()),
    );
    return { records, checkpoints };
  }

  it('reports deleted checkpoints as missing, counting from the last one that is there', async () => {
    const signer = new CheckpointSigner(generateKeyPairSync('ed25519').privateKey);
    const { records, checkpoints } = signedChain(35, 10, signer);
    const options = { publicKey: signer.publicKey, checkpointEvery: 10 };
    expect((await verifyChain(records, { ...options, checkpoints })).ok).toBe(true);
    const withoutSecond = checkpoints.filter((checkpoint) => checkpoint.seq !== 20);
    expect((await verifyChain(records, { ...options, checkpoints: withoutSecond })).firstBad).toMatchObject({
      seq: 20,
      problem: 'missing_checkpoint',
    });
    expect((await verifyChain(records, { ...options, checkpoints: [] })).firstBad).toMatchObject({
      seq: 10,
      problem: 'missing_checkpoint',
    });
    // without a cadence nothing is expected (a log written without a signer)
    expect((await verifyChain(records, { publicKey: signer.publicKey })).ok).toBe(true);
  });

  it('trusts several keys (rotation) but only the one a checkpoint names', async () => {
    const [old, current] = [0, 1].map(
      () => new CheckpointSigner(generateKeyPairSync('ed25519').privateKey),
    ) as [CheckpointSigner, CheckpointSigner];
    const records = chain(20);
    const checkpoints = [
      old.sign(10, records[9]?.hash as string, new Date()),
      current.sign(20, records[19]?.hash as string, new Date()),
    ];
    const both = { checkpoints, checkpointEvery: 10, publicKey: [old.publicKey, current.publicKey] };
    expect(await verifyChain(records, both)).toMatchObject({ ok: true, signaturesChecked: true });
    expect((await verifyChain(records, { ...both, publicKey: [current.publicKey] })).firstBad).toMatchObject({
      seq: 10,
      problem: 'bad_checkpoint',
    });
  });

  it('reports two checkpoints that disagree about one record', async () => {
    const signer = new CheckpointSigner(generateKeyPairSync('ed25519').privateKey);
    const records = chain(10);
    const published = signer.sign(10, records[9]?.hash as string, new Date());
    const other = signer.sign(10, 'f'.repeat(64), new Date());
    expect(
      (await verifyChain(records, { checkpoints: [other, published], publicKey: signer.publicKey })).firstBad,
    ).toMatchObject({ seq: 10, problem: 'checkpoint_mismatch' });
  });
});
