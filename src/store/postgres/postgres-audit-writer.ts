/**
 * @module store/postgres/postgres-audit-writer
 * Appends batches of prepared events to the PostgreSQL audit table, one transaction per batch. The
 * transaction first takes a transaction-scoped advisory lock (one per schema), so the writers of every
 * process take turns; it then reads the chain head — under READ COMMITTED each statement sees what was
 * committed before it started, so the head is the one the previous lock holder committed — links the
 * batch to it, inserts it in one statement and signs, in the same transaction, a checkpoint on every
 * record the cadence makes due (store/audit-records, as the SQLite writer does), and stores the
 * contents captured with the batch's events (store/captured-content). The commit is durable
 * (synchronous_commit as configured on the server, `on` by default) before the lock is released and
 * before the appends resolve.
 */
import type { PoolClient } from 'pg';
import type { CheckpointSigner } from '../../audit/checkpoint.js';
import type { AuditCheckpointV1 } from '../../spec/audit-checkpoint.js';
import type { PreparedEvent } from '../../spec/audit-event.js';
import type { AppendReceipt } from '../audit-log.js';
import { type AppendItem, CAPTURE_CONFLICT_SQL, captureRows, capturesOf } from '../captured-content.js';
import { chainHead, dueCheckpoints, headCheckpoint, linkBatch } from '../chain-append.js';
import type { AuditTables } from '../retention.js';
import { byteaArray, int8Array, textArray } from './postgres-binary.js';
import { advisoryLockKey, quoteIdentifier } from './postgres-migrations.js';

/** Fully qualified names of the store's tables. */
export type PostgresTables = AuditTables;

export function tablesOf(schema: string): PostgresTables {
  const quoted = quoteIdentifier(schema);
  return {
    events: `${quoted}.audit_events`,
    checkpoints: `${quoted}.audit_checkpoints`,
    meta: `${quoted}.audit_meta`,
    captures: `${quoted}.audit_captures`,
  };
}

export interface PostgresWrittenBatch {
  /** One receipt per event, in order. */
  readonly receipts: AppendReceipt[];
  /** Checkpoints signed in the same transaction (to be published). */
  readonly checkpoints: AuditCheckpointV1[];
}

export interface PostgresBatchWriter {
  /** Appends the events, and stores the contents captured with them, in one transaction. */
  write(client: PoolClient, events: readonly AppendItem[]): Promise<PostgresWrittenBatch>;
  /** Signs the current head if it is not signed yet. */
  checkpoint(client: PoolClient): Promise<AuditCheckpointV1 | undefined>;
}

interface HeadRow {
  seq: string;
  hash: string;
}

interface StateRow {
  anchor: string | null;
  signed: string | null;
}

export function createPostgresBatchWriter(options: {
  schema: string;
  signer?: CheckpointSigner | undefined;
  checkpointEvery: number;
}): PostgresBatchWriter {
  const { signer, checkpointEvery } = options;
  const tables = tablesOf(options.schema);
  const lockKey = advisoryLockKey('append', options.schema);
  // One round trip: open the transaction, wait for the lock, then (new snapshot per statement) read the
  // head, the pruning anchor and the last signed checkpoint. Only constants are interpolated.
  const begin = `begin isolation level read committed;
    select pg_advisory_xact_lock(${lockKey});
    select seq, hash from ${tables.events} order by seq desc limit 1;
    select (select value from ${tables.meta} where key = 'anchor') as anchor,
           (select seq from ${tables.checkpoints} order by seq desc limit 1) as signed`;
  // Prepared once per connection; one array parameter per column (binary, see postgres-binary).
  const insert = {
    name: `reins_append_${lockKey}`,
    text: `insert into ${tables.events}
             (seq, prev_hash, hash, body, time, kind, decision_id, session_id, agent_id, tool, effect)
           select * from unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                                $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])`,
  };
  const insertCaptures = {
    name: `reins_capture_${lockKey}`,
    text: `insert into ${tables.captures} as c (hash, content, last_seq)
           select * from unnest($1::text[], $2::bytea[], $3::bigint[]) ${CAPTURE_CONFLICT_SQL}`,
  };
  const insertCheckpoint = `insert into ${tables.checkpoints} (seq, hash, time, key_id, signature)
                            values ($1, $2, $3, $4, $5)`;

  /** Opens the transaction holding the lock; returns the head (record or anchor) and the last signed seq. */
  const lockAndReadHead = async (
    client: PoolClient,
  ): Promise<{ last: { seq: number; hash: string } | undefined; anchor: string | null; signed: number }> => {
    const results = (await client.query(begin)) as unknown as { rows: unknown[] }[];
    const last = results[2]?.rows[0] as HeadRow | undefined;
    const state = results[3]?.rows[0] as StateRow | undefined;
    return {
      last: last ? { seq: Number(last.seq), hash: last.hash } : undefined,
      anchor: state?.anchor ?? null,
      signed: state?.signed === null || state?.signed === undefined ? 0 : Number(state.signed),
    };
  };

  const store = async (client: PoolClient, checkpoint: AuditCheckpointV1): Promise<AuditCheckpointV1> => {
    await client.query(insertCheckpoint, [
      checkpoint.seq,
      checkpoint.hash,
      checkpoint.time,
      checkpoint.keyId,
      checkpoint.signature,
    ]);
    return checkpoint;
  };

  /** Same rule as the SQLite store: every `checkpointEvery`-th record after the last signed one. */
  const signDue = async (
    client: PoolClient,
    receipts: readonly AppendReceipt[],
    signed: number,
  ): Promise<AuditCheckpointV1[]> => {
    const checkpoints = dueCheckpoints(signer, signed, receipts, checkpointEvery);
    for (const checkpoint of checkpoints) await store(client, checkpoint);
    return checkpoints;
  };

  /**
   * The batch's contents, one row per hash, encoded before the lock is taken: `lastSeq` is first the
   * position in the batch of the newest event each came with, and becomes a seq once the head is known.
   */
  const encodeCaptures = (events: readonly AppendItem[]) => {
    const rows = captureRows(capturesOf(events), 0);
    if (rows.length === 0) return undefined;
    const fixed = [textArray(rows.map((row) => row.hash)), byteaArray(rows.map((row) => row.bytes))];
    return (firstSeq: number) => [...fixed, int8Array(rows.map((row) => firstSeq + row.lastSeq))];
  };

  const inTransaction = async <T>(client: PoolClient, work: () => Promise<T>): Promise<T> => {
    try {
      const result = await work();
      await client.query('commit');
      return result;
    } catch (error) {
      // if the rollback fails too, the caller discards the connection (it sees the first error)
      await client.query('rollback').catch(() => {});
      throw error;
    }
  };

  return {
    write: async (client, events) => {
      const count = events.length;
      if (count === 0) return { receipts: [], checkpoints: [] };
      // everything that does not depend on the head is encoded before taking the lock
      const column = (field: keyof PreparedEvent) => textArray(events.map((event) => event[field]));
      const fixed = [
        column('body'),
        column('time'),
        column('kind'),
        column('decisionId'),
        column('sessionId'),
        column('agentId'),
        column('tool'),
        column('effect'),
      ];
      const captures = encodeCaptures(events);
      return inTransaction(client, async () => {
        const { last, anchor, signed } = await lockAndReadHead(client);
        const records = linkBatch(
          chainHead(last, () => anchor),
          events,
        );
        const receipts = records.map((record): AppendReceipt => ({ seq: record.seq, hash: record.hash }));
        await client.query({
          ...insert,
          values: [
            int8Array(records.map((record) => record.seq)),
            textArray(records.map((record) => record.prevHash)),
            textArray(records.map((record) => record.hash)),
            ...fixed,
          ],
        });
        const firstSeq = records[0]?.seq ?? 0;
        if (captures) await client.query({ ...insertCaptures, values: captures(firstSeq) });
        return { receipts, checkpoints: await signDue(client, receipts, signed) };
      });
    },
    checkpoint: (client) =>
      inTransaction(client, async () => {
        const { last, signed } = await lockAndReadHead(client);
        const checkpoint = headCheckpoint(signer, last, signed);
        return checkpoint === undefined ? undefined : store(client, checkpoint);
      }),
  };
}
