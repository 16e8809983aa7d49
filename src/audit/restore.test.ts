/**
 * @module audit/restore.test
 * Which cuts a restore record accounts for (audit/restore, decision 0024), on chains built in memory:
 * a genuine restore sets aside exactly the published checkpoints it declares lost and the chain then
 * verifies; a forged, altered, misplaced or understated restore record does not; a backup restored
 * twice (the first restore's own record lost with the rest) is accounted for by the second.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AuditCheckpointV1 } from '../spec/audit-checkpoint.js';
import {
  type ChainedRecord,
  type PreparedEvent,
  prepareEvent,
  type RestoreEvent,
} from '../spec/audit-event.js';
import { linkRecord, verifyChain } from './chain.js';
import { CheckpointSigner } from './checkpoint.js';
import {
  attestRestore,
  lostRange,
  type RestoreInLog,
  reconcileRestores,
  uncoveredRestores,
} from './restore.js';

const signer = new CheckpointSigner(generateKeyPairSync('ed25519').privateKey);
const intruder = new CheckpointSigner(generateKeyPairSync('ed25519').privateKey);
const keys = [signer.publicKey];

/** Minute `m` of a fixed day: checkpoint and restore times in order. */
const at = (m: number) => new Date(Date.UTC(2026, 11, 6, 10, m));

function plain(label: string): PreparedEvent {
  return {
    body: JSON.stringify({ label }),
    time: at(0).toISOString(),
    kind: 'test',
    decisionId: label,
    sessionId: '',
    agentId: '',
    tool: '',
    effect: '',
  };
}

/** Appends `count` records labelled `branch` to `chain` (a copy). */
function extend(chain: readonly ChainedRecord[], count: number, branch: string): ChainedRecord[] {
  const out = [...chain];
  for (let i = 0; i < count; i++) out.push(linkRecord(out.at(-1), plain(`${branch}-${out.length + 1}`)));
  return out;
}

const checkpointOf = (chain: readonly ChainedRecord[], seq: number, minute: number): AuditCheckpointV1 => {
  const record = chain[seq - 1] as ChainedRecord;
  return signer.sign(seq, record.hash, at(minute));
};

/** A restore of `chain`'s first `tail` records at `minute`, declaring what `published` shows lost. */
function restoreEvent(
  chain: readonly ChainedRecord[],
  tail: number,
  published: readonly AuditCheckpointV1[],
  minute: number,
  by: CheckpointSigner = signer,
): RestoreEvent {
  const last = chain[tail - 1] as ChainedRecord;
  const backupTail = { seq: tail, hash: last.hash };
  const lost = lostRange(published, backupTail);
  const unsigned = {
    v: 1 as const,
    id: `restore-${minute}`,
    time: at(minute).toISOString(),
    kind: 'restore' as const,
    decisionId: `restore-${minute}`,
    actor: { id: 'cli:olivia', roles: [] },
    reason: 'disk failure',
    backup: {
      store: 'sqlite' as const,
      takenAt: at(1).toISOString(),
      sha256: 'a'.repeat(64),
      tail: backupTail,
    },
    ...(lost ? { lost } : {}),
    publishedRead: published.length,
  };
  return { ...unsigned, attestation: attestRestore(by, unsigned) };
}

/** `chain` cut to `tail`, the restore record appended: the restored log. */
function restored(chain: readonly ChainedRecord[], tail: number, event: RestoreEvent): ChainedRecord[] {
  const kept = chain.slice(0, tail);
  return [...kept, linkRecord(kept.at(-1), prepareEvent(event))];
}

const inLog = (log: readonly ChainedRecord[], event: RestoreEvent): RestoreInLog => {
  const record = log.find((candidate) => candidate.decisionId === event.id) as ChainedRecord;
  return { seq: record.seq, prevHash: record.prevHash, hash: record.hash, event };
};

/** The original history: 20 records, checkpoints published every 4. */
const original = extend([], 20, 'a');
const publishedOriginal = [4, 8, 12, 16, 20].map((seq) => checkpointOf(original, seq, seq));

describe('a restore record', () => {
  it('names the lost range from the published checkpoints past the tail', () => {
    const tail = { seq: 10, hash: (original[9] as ChainedRecord).hash };
    expect(lostRange(publishedOriginal, tail)).toMatchObject({
      from: 11,
      to: 20,
      checkpointHash: original[19]?.hash,
    });
    expect(lostRange(publishedOriginal, { seq: 20, hash: original[19]?.hash as string })).toBeUndefined();
  });

  it('that is genuine sets aside exactly what it declares, and the restored chain verifies', async () => {
    const event = restoreEvent(original, 10, publishedOriginal, 30);
    const log = extend(restored(original, 10, event), 3, 'b');
    const afterRestore = [checkpointOf(log, 11, 31), checkpointOf(log, 14, 32)];
    const published = [...publishedOriginal, ...afterRestore];
    // without the restore taken into account the cut is tampering
    expect((await verifyChain(log, { checkpoints: published, publicKey: keys })).ok).toBe(false);
    const reconciliation = reconcileRestores([inLog(log, event)], published, keys);
    expect(reconciliation.problems).toEqual([]);
    expect([...reconciliation.superseded].map((checkpoint) => checkpoint.seq)).toEqual([12, 16, 20]);
    const kept = published.filter((checkpoint) => !reconciliation.superseded.has(checkpoint));
    expect(await verifyChain(log, { checkpoints: kept, publicKey: keys })).toMatchObject({ ok: true });
    expect(uncoveredRestores(reconciliation, published)).toEqual([]);
  });

  it('signed by a key that is not trusted, or altered after signing, accounts for nothing', () => {
    const forged = restoreEvent(original, 10, publishedOriginal, 30, intruder);
    const log = restored(original, 10, forged);
    const result = reconcileRestores([inLog(log, forged)], publishedOriginal, keys);
    expect(result.superseded.size).toBe(0);
    expect(result.problems[0]?.message).toContain('not signed by a trusted key');
    const genuine = restoreEvent(original, 10, publishedOriginal, 30);
    const altered = { ...genuine, reason: 'routine' };
    const alteredLog = restored(original, 10, altered);
    expect(
      reconcileRestores([inLog(alteredLog, altered)], publishedOriginal, keys).problems[0]?.message,
    ).toContain('not signed by a trusted key');
  });

  it('that declares less than the published checkpoints show is refused, naming what it hides', () => {
    // the restore was shown only the checkpoints up to record 12
    const event = restoreEvent(original, 10, publishedOriginal.slice(0, 3), 30);
    const log = restored(original, 10, event);
    const { problems } = reconcileRestores([inLog(log, event)], publishedOriginal, keys);
    expect(problems.map((problem) => problem.message)).toEqual([
      expect.stringContaining(
        'checkpoint at record 16 was signed before the restore at record 11 but lies outside the range it declares lost (records 11..12)',
      ),
      expect.stringContaining('record 20'),
    ]);
  });

  it('that names a lost checkpoint nobody published is refused', () => {
    const other = extend(original.slice(0, 10), 10, 'z');
    const event = restoreEvent(original, 10, [checkpointOf(other, 20, 20)], 30);
    const log = restored(original, 10, event);
    const { problems, superseded } = reconcileRestores([inLog(log, event)], publishedOriginal, keys);
    expect(superseded.size).toBe(0);
    expect(problems[0]?.message).toContain('no published checkpoint signed before it has record 20');
  });

  it('that does not sit right after the backup tail it names is refused', () => {
    const event = restoreEvent(original, 10, publishedOriginal, 30);
    const log = restored(original, 9, event);
    expect(reconcileRestores([inLog(log, event)], publishedOriginal, keys).problems[0]?.message).toContain(
      "does not follow the backup's tail",
    );
  });

  it('of a backup restored twice accounts for both branches it cut off', async () => {
    // first restore to 10, the gateway runs on (branch b), then the same backup is restored again
    const first = restoreEvent(original, 10, publishedOriginal, 30);
    const branchB = extend(restored(original, 10, first), 8, 'b');
    const publishedB = [
      checkpointOf(branchB, 11, 31),
      checkpointOf(branchB, 15, 32),
      checkpointOf(branchB, 19, 33),
    ];
    const published = [...publishedOriginal, ...publishedB];
    const second = restoreEvent(original, 10, published, 40);
    expect(second.lost).toMatchObject({ from: 11, to: 20 });
    const log = extend(restored(original, 10, second), 2, 'c');
    const all = [...published, checkpointOf(log, 11, 41)];
    const reconciliation = reconcileRestores([inLog(log, second)], all, keys);
    expect(reconciliation.problems).toEqual([]);
    const kept = all.filter((checkpoint) => !reconciliation.superseded.has(checkpoint));
    expect(kept.map((checkpoint) => checkpoint.seq)).toEqual([4, 8, 11]);
    expect(await verifyChain(log, { checkpoints: kept, publicKey: keys })).toMatchObject({ ok: true });
  });

  it('over a log that lost nothing published declares nothing, sets nothing aside, and verifies', async () => {
    // the backup is as new as the last published checkpoint: the restore cuts nothing anyone can show
    const event = restoreEvent(original, 20, publishedOriginal, 30);
    expect(event.lost).toBeUndefined();
    const log = restored(original, 20, event);
    const published = [...publishedOriginal, checkpointOf(log, 21, 31)];
    const reconciliation = reconcileRestores([inLog(log, event)], published, keys);
    expect(reconciliation).toMatchObject({ problems: [], accepted: [{ seq: 21 }] });
    expect(reconciliation.superseded.size).toBe(0);
    expect(await verifyChain(log, { checkpoints: published, publicKey: keys })).toMatchObject({ ok: true });
  });

  it('covered by no published checkpoint is reported', () => {
    const event = restoreEvent(original, 10, publishedOriginal, 30);
    const log = restored(original, 10, event);
    const reconciliation = reconcileRestores([inLog(log, event)], publishedOriginal, keys);
    expect(uncoveredRestores(reconciliation, publishedOriginal)[0]?.message).toContain(
      'covered by no published checkpoint',
    );
  });

  it('covered only by later checkpoints (a trial restore moved into production) is reported', () => {
    // --no-publish: the checkpoint over the restore record (11) was never published; the gateway's
    // next checkpoints over the forged history (15) do not vouch for the restore
    const event = restoreEvent(original, 10, publishedOriginal, 30);
    const log = extend(restored(original, 10, event), 4, 'b');
    const published = [...publishedOriginal, checkpointOf(log, 15, 32)];
    const reconciliation = reconcileRestores([inLog(log, event)], published, keys);
    expect(reconciliation.problems).toEqual([]);
    expect(uncoveredRestores(reconciliation, published)).toMatchObject([{ seq: 11 }]);
    // its own checkpoint, published, does
    const own = [...published, checkpointOf(log, 11, 31)];
    expect(uncoveredRestores(reconcileRestores([inLog(log, event)], own, keys), own)).toEqual([]);
  });
});
