/**
 * @module audit/checkpoint
 * Signing and verifying audit checkpoints with Ed25519 (node:crypto). Pure: keys are passed in.
 */
import { createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { type AuditCheckpointV1, checkpointMessage } from '../spec/audit-checkpoint.js';
import { keyIdOf } from '../spec/key-id.js';

export { keyIdOf };

/** The keys checkpoints are verified with: the current one and every retired one (kept forever). */
export type CheckpointKeys = KeyObject | readonly KeyObject[];

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

  sign(seq: number, hash: string, time: Date): AuditCheckpointV1 {
    const unsigned = { seq, hash, time: time.toISOString(), keyId: this.keyId };
    const signature = sign(null, Buffer.from(checkpointMessage(unsigned)), this.privateKey).toString(
      'base64',
    );
    return { v: 1, ...unsigned, signature };
  }
}

/**
 * Is a checkpoint due? When `every` records are unsigned since the last one (checked after each batch,
 * so gaps can reach `every` + batch size - 1), or on demand (`force`) whenever the head is unsigned.
 */
export function checkpointDue(
  headSeq: number,
  lastSignedSeq: number,
  every: number,
  force: boolean,
): boolean {
  if (headSeq <= lastSignedSeq) return false;
  return force || headSeq - lastSignedSeq >= every;
}

/** Checks the signature with the key the checkpoint names; a key not among `keys` fails. */
export function verifyCheckpoint(checkpoint: AuditCheckpointV1, keys: CheckpointKeys): boolean {
  const publicKey = (Array.isArray(keys) ? keys : [keys]).find(
    (key: KeyObject) => keyIdOf(key) === checkpoint.keyId,
  );
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
