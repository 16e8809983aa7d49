/**
 * @module audit/checkpoint
 * Signing and verifying audit checkpoints with Ed25519 (node:crypto). Pure: keys are passed in.
 */
import { createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import type { AuditCheckpointV1 } from '../spec/audit-checkpoint.js';
import { checkpointMessage } from '../spec/checkpoint-message.js';
import { keyIdOf } from '../spec/key-id.js';

export { keyIdOf };

/** How every checkpoint message starts (spec/audit-checkpoint): no other statement may. */
const CHECKPOINT_PREFIX = checkpointMessage({ seq: 0, hash: '', time: '', keyId: '' }).split(
  '\n',
)[0] as string;

/** The keys checkpoints are verified with: the current one and every retired one (kept forever). */
export type CheckpointKeys = KeyObject | readonly KeyObject[];

/**
 * The pluggable checkpoint signer: an audit log signs with the one it is given (`signer` of its
 * options) and never looks for a key itself. Made from the deployment's Ed25519 private key, from
 * wherever the deployment keeps it (the CLI: its checkpoint key source, decision 0011); every process
 * writing one log must be given the same key, or the log's checkpoints do not verify against one key.
 * Signing is synchronous (inside the write transaction), so the key must be in the process.
 */
export class CheckpointSigner {
  readonly keyId: string;
  readonly publicKey: KeyObject;

  constructor(private readonly privateKey: KeyObject) {
    if (privateKey.asymmetricKeyType !== 'ed25519') {
      throw new TypeError(
        `checkpoint key must be Ed25519, got \`${privateKey.asymmetricKeyType ?? privateKey.type}\``,
      );
    }
    this.publicKey = createPublicKey(privateKey);
    this.keyId = keyIdOf(this.publicKey);
  }

  /** For handing the key to the audit writer thread of the same process; never written anywhere. */
  exportPrivateKeyPem(): string {
    return this.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  }

  /**
   * Signs another statement with the checkpoint key (a restore record's attestation, audit/restore).
   * Its message must start with a prefix of its own, so that it can never pass for a checkpoint.
   */
  signStatement(message: string): { keyId: string; signature: string } {
    if (message.startsWith(CHECKPOINT_PREFIX))
      throw new TypeError('a statement must not look like a checkpoint message');
    return {
      keyId: this.keyId,
      signature: sign(null, Buffer.from(message), this.privateKey).toString('base64'),
    };
  }

  sign(seq: number, hash: string, time: Date): AuditCheckpointV1 {
    const unsigned = { seq, hash, time: time.toISOString(), keyId: this.keyId };
    const signature = sign(null, Buffer.from(checkpointMessage(unsigned)), this.privateKey).toString(
      'base64',
    );
    return { v: 1, ...unsigned, signature };
  }
}

/**
 * The records of a batch that must carry a checkpoint: every `every`-th record after the last signed
 * one, so that no run of `every` records goes unsigned however large the batch (verification counts on
 * this cadence to notice deleted checkpoints). `lastSigned` is the last signed seq (0: none).
 */
export function checkpointSeqsDue(lastSigned: number, headSeq: number, every: number): number[] {
  const due: number[] = [];
  for (let seq = lastSigned + every; seq <= headSeq; seq += every) due.push(seq);
  return due;
}

/** On demand (`reins audit checkpoint`, close): sign the head unless it is signed already. */
export function forcedCheckpointDue(headSeq: number, lastSigned: number): boolean {
  return headSeq > lastSigned;
}

/** One trusted key or several (a rotation), as a list; none: empty. */
export function checkpointKeyList(keys: CheckpointKeys | undefined): readonly KeyObject[] {
  if (keys === undefined) return [];
  return Array.isArray(keys) ? keys : [keys as KeyObject];
}

/** Checks the signature with the key the checkpoint names; a key not among `keys` fails. */
export function verifyCheckpoint(checkpoint: AuditCheckpointV1, keys: CheckpointKeys): boolean {
  const publicKey = checkpointKeyList(keys).find((key) => keyIdOf(key) === checkpoint.keyId);
  if (publicKey === undefined) return false;
  try {
    return verify(
      null,
      Buffer.from(checkpointMessage(checkpoint)),
      publicKey,
      Buffer.from(checkpoint.signature, 'base64'),
    );
  } catch {
    return false;
  }
}

/** Checks a statement signed with `signStatement` against the trusted key its keyId names. */
export function verifyStatement(
  message: string,
  signed: { readonly keyId: string; readonly signature: string },
  keys: CheckpointKeys,
): boolean {
  const publicKey = checkpointKeyList(keys).find((key) => keyIdOf(key) === signed.keyId);
  if (publicKey === undefined || message.startsWith(CHECKPOINT_PREFIX)) return false;
  try {
    return verify(null, Buffer.from(message), publicKey, Buffer.from(signed.signature, 'base64'));
  } catch {
    return false;
  }
}
