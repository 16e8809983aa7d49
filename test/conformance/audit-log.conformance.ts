/**
 * @module test/conformance/audit-log.conformance
 * The audit log conformance suite: the same tests, unchanged, against every store backend. A backend
 * provides a way to open logs on one fresh store and to run raw SQL against it (to tamper the way an
 * intruder with database access would).
 */
import { createHash, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { linkRecord } from '../../src/audit/chain.js';
import { CheckpointSigner } from '../../src/audit/checkpoint.js';
import { type ChainedRecord, prepareEvent } from '../../src/spec/audit-event.js';
import {
  type AuditLog,
  type AuditLogOptions,
  type CapturedContent,
  DEFAULT_QUERY_LIMIT,
  MAX_QUERY_LIMIT,
} from '../../src/store/audit-log.js';
import { intentEvent, outcomeEvent } from '../support/audit-fixtures.js';

/** One fresh, empty store of a backend. */
export interface ConformanceStore {
  /** Opens a log on this store (several may be open at once, as in several processes). */
  open(options?: AuditLogOptions): Promise<AuditLog>;
  /** Runs SQL with `?` placeholders directly against the store. */
  execute(sql: string, params?: readonly unknown[]): Promise<void>;
  /** Marks the store as written by a newer Reins (schema version 99). */
  setSchemaVersion(version: number): Promise<void>;
  /**
   * Makes every insert into `table` fail (a trigger, as a full disk or a broken connection would) until
   * the returned function is called.
   */
  refuseInserts(table: 'audit_events' | 'audit_captures'): Promise<() => Promise<void>>;
  /**
   * Takes the write lock every writer of the store takes, from a connection of its own, as another
   * process in the middle of a write would, until the returned function is called.
   */
  holdWriteLock(): Promise<() => Promise<void>>;
  /** Drops the store. */
  destroy(): Promise<void>;
}

export interface ConformanceBackend {
  readonly name: string;
  create(): Promise<ConformanceStore>;
}

/** Content as a capture would hand it over: its bytes and their sha256 (hex). */
export function capturedContent(bytes: Uint8Array | string): CapturedContent {
  const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  return { hash: createHash('sha256').update(data).digest('hex'), bytes: data };
}

export function auditLogConformance(backend: ConformanceBackend): void {
  describe(`AuditLog conformance: ${backend.name}`, () => {
    let store: ConformanceStore;
    const opened: AuditLog[] = [];
    const keys = generateKeyPairSync('ed25519');
    const signer = new CheckpointSigner(keys.privateKey);
    const publicKey: KeyObject = keys.publicKey;

    async function open(options: AuditLogOptions = {}): Promise<AuditLog> {
      const log = await store.open(options);
      opened.push(log);
      return log;
    }

    async function fill(log: AuditLog, count: number, offset = 0): Promise<void> {
      await Promise.all(
        Array.from({ length: count }, (_, index) =>
          log.append(
            intentEvent(offset + index, {
              sessionId: `s${(offset + index) % 3}`,
              agentId: `agent-${(offset + index) % 2}`,
            }),
          ),
        ),
      );
    }

    async function all(log: AuditLog): Promise<ChainedRecord[]> {
      const records: ChainedRecord[] = [];
      for await (const record of log.records()) records.push(record);
      return records;
    }

    beforeEach(async () => {
      store = await backend.create();
    });
    afterEach(async () => {
      for (const log of opened.splice(0)) await log.close().catch(() => {});
      await store.destroy();
    });

    it('answers an append asked to sync later once every reader sees it, and says when it is durable', async () => {
      const log = await open();
      const reader = await open();
      const receipts = await Promise.all(
        Array.from({ length: 20 }, (_, index) =>
          log.append(index % 2 === 0 ? intentEvent(index) : outcomeEvent(index - 1, 'ok'), {
            syncLater: index % 2 === 1,
          }),
        ),
      );
      const last = Math.max(...receipts.map((receipt) => receipt.seq));
      // visible to another reader (another process) as soon as the append resolved
      expect((await all(reader)).length).toBe(20);
      // durable: at once for logs that answer only then, after a sync for the others
      await log.durable?.(last);
      await reader.durable?.(last);
      // a seq the log does not hold is refused, never reported durable
      if (log.durable !== undefined)
        await expect(log.durable(last + 1_000)).rejects.toThrow(/not in the audit log/);
      expect(await log.verify()).toMatchObject({ ok: true, checked: 20 });
    });

    it('verifies records whose searchable fields hold broken Unicode (a lone surrogate, a pair cut in half)', async () => {
      // what an unverified credential's claims, a tool name cut to length or an upstream's tool list
      // can hold: the store cannot keep such text as it is, so the log keeps its well-formed form
      const log = await open();
      const lone = 'agent-\ud800';
      const cut = `session-${'😀'.slice(0, 1)}`;
      await log.append(intentEvent(0, { agentId: lone, sessionId: cut }));
      await log.append(intentEvent(1, { agentId: `${'a'.repeat(3)}\udfff` }));
      await log.append(intentEvent(2));
      expect(await log.verify()).toMatchObject({ ok: true, checked: 3 });
      const [first] = await all(log);
      expect(first?.agentId).toBe('agent-\ufffd');
      expect(first?.sessionId).toBe('session-\ufffd');
      // the body keeps what was recorded, escaped
      expect(JSON.parse(first?.body ?? '{}').principal.agentId).toBe(lone);
      expect(await log.query({ agentId: 'agent-\ufffd' })).toHaveLength(1);
      // NUL, which PostgreSQL's text refuses (an unverified claim can hold it): recorded all the same
      const nul = await log.append(intentEvent(3, { agentId: 'agent-\u0000', sessionId: '\u0000' }));
      expect(await log.verify()).toMatchObject({ ok: true, checked: 4 });
      const stored = (await all(log)).find((record) => record.seq === nul.seq);
      expect([stored?.agentId, stored?.sessionId]).toEqual(['agent-\ufffd', '\ufffd']);
      expect(JSON.parse(stored?.body ?? '{}').principal.agentId).toBe('agent-\u0000');
    });

    it('appends concurrently into one gap-free chain, durable across reopening', async () => {
      const log = await open();
      const receipts = await Promise.all(
        Array.from({ length: 300 }, (_, index) => log.append(intentEvent(index))),
      );
      expect(receipts.map((receipt) => receipt.seq).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 300 }, (_, index) => index + 1),
      );
      await log.close();
      opened.splice(opened.indexOf(log), 1);
      const reopened = await open();
      const records = await all(reopened);
      expect(records.map((record) => record.seq)).toEqual(
        Array.from({ length: 300 }, (_, index) => index + 1),
      );
      expect(await reopened.verify()).toMatchObject({ ok: true, checked: 300 });
    });

    it('keeps one chain with several writers on the same store', async () => {
      const first = await open();
      const second = await open();
      await Promise.all(
        Array.from({ length: 200 }, (_, index) =>
          (index % 2 === 0 ? first : second).append(intentEvent(index)),
        ),
      );
      expect(await first.verify()).toMatchObject({ ok: true, checked: 200 });
    });

    it('answers queries by session, agent, tool, effect, kind, time and page', async () => {
      const log = await open();
      await fill(log, 30);
      await log.append(outcomeEvent(100, 'denied', { sessionId: 's9', agentId: 'agent-9' }));
      const bySession = await log.query({ sessionId: 's1' });
      expect(bySession).toHaveLength(10);
      expect(
        bySession.every((record) => 'principal' in record.event && record.event.sessionId === 's1'),
      ).toBe(true);
      expect(bySession.map((record) => record.seq)).toEqual(
        [...bySession.map((record) => record.seq)].sort((a, b) => a - b),
      );
      expect(await log.query({ agentId: 'agent-0', sessionId: 's0' })).toHaveLength(5);
      expect(await log.query({ tool: 'crm/db.select', kind: 'call-intent' })).toHaveLength(30);
      expect((await log.query({ effect: 'denied' })).map((record) => record.event.decisionId)).toEqual([
        'd100',
      ]);
      const from = intentEvent(10).time;
      const to = intentEvent(20).time;
      expect(await log.query({ from, to, kind: 'call-intent' })).toHaveLength(10);
      const page = await log.query({ limit: 7 });
      expect(page).toHaveLength(7);
      const next = await log.query({ afterSeq: page.at(-1)?.seq ?? 0, limit: 100 });
      expect(next).toHaveLength(24);
      await fill(log, 3, 200);
      expect(await log.query({ sessionId: 's2', afterSeq: 31 })).toHaveLength(1);
      // one call's records: its intent and its outcome, within its session
      await log.append(outcomeEvent(4, 'ok', { sessionId: 's1' }));
      const call = await log.query({ sessionId: 's1', decisionId: 'd4', order: 'desc' });
      expect(call.map((record) => record.event.kind)).toEqual(['call-outcome', 'call-intent']);
      expect(await log.query({ sessionId: 's0', decisionId: 'd4' })).toEqual([]);
      expect(await log.query({ decisionId: 'd100' })).toHaveLength(1);
    });

    it('answers the searchable fields of the same records as `query`, without their bodies', async () => {
      const log = await open();
      await fill(log, 12);
      await log.append(outcomeEvent(3, 'denied', { sessionId: 's0' }));
      for (const query of [
        {},
        { kind: 'call-intent' as const, from: intentEvent(2).time, to: intentEvent(9).time },
        { effect: 'denied' },
        { afterSeq: 4, limit: 3 },
        { order: 'desc' as const, limit: 5 },
        { sessionId: 's0', decisionId: 'd3' },
      ]) {
        const rows = await log.queryIndex(query);
        const records = await log.query(query);
        expect(rows).toEqual(
          records.map((record) => {
            const fields = prepareEvent(record.event);
            return {
              seq: record.seq,
              time: fields.time,
              kind: fields.kind,
              decisionId: fields.decisionId,
              tool: fields.tool,
              effect: fields.effect,
            };
          }),
        );
      }
      expect((await log.queryIndex({ effect: 'denied' }))[0]).toEqual({
        seq: 13,
        time: outcomeEvent(3, 'denied').time,
        kind: 'call-outcome',
        decisionId: 'd3',
        tool: 'crm/db.select',
        effect: 'denied',
      });
    });

    it('answers newest first, paging back with beforeSeq while records keep arriving', async () => {
      const log = await open();
      await fill(log, 20);
      const seqs = (records: { seq: number }[]) => records.map((record) => record.seq);
      const first = await log.query({ order: 'desc', limit: 5 });
      expect(seqs(first)).toEqual([20, 19, 18, 17, 16]);
      await fill(log, 3, 100); // newer records do not shift the next page
      const second = await log.query({ order: 'desc', beforeSeq: first.at(-1)?.seq ?? 0, limit: 5 });
      expect(seqs(second)).toEqual([15, 14, 13, 12, 11]);
      const s1 = seqs(await log.query({ sessionId: 's1' })).filter((seq) => seq < 11);
      expect(s1.length).toBeGreaterThan(2);
      expect(seqs(await log.query({ order: 'desc', sessionId: 's1', beforeSeq: 11 }))).toEqual(s1.reverse());
      expect(seqs(await log.query({ order: 'desc', limit: 2 }))).toEqual([23, 22]);
      expect(seqs(await log.query({ order: 'asc', beforeSeq: 4 }))).toEqual([1, 2, 3]);
    });

    it('reads the limit by one rule: Infinity is the most allowed, NaN the default, whole and at least 1', async () => {
      const log = await open();
      const stored = DEFAULT_QUERY_LIMIT + 5; // more than the default, less than the maximum
      await fill(log, stored);
      const count = async (limit: number) => (await log.query({ limit })).length;
      expect((await log.query({})).length).toBe(DEFAULT_QUERY_LIMIT);
      expect(await count(Number.POSITIVE_INFINITY)).toBe(stored);
      expect(await count(MAX_QUERY_LIMIT * 2)).toBe(stored);
      expect(await count(Number.NaN)).toBe(DEFAULT_QUERY_LIMIT);
      expect(await count(Number.NEGATIVE_INFINITY)).toBe(1);
      expect(await count(0)).toBe(1);
      expect(await count(-3)).toBe(1);
      expect(await count(2.9)).toBe(2);
    });

    it('signs checkpoints as it goes and on close, verifiable with the public key', async () => {
      const log = await open({ signer, checkpointEvery: 10 });
      for (let round = 0; round < 4; round++) await fill(log, 9, round * 9);
      const checkpoints = await log.checkpoints();
      // signed on every 10th record after the last checkpoint, whatever the batches: never 10 unsigned
      expect(checkpoints.map((checkpoint) => checkpoint.seq).slice(0, 3)).toEqual([10, 20, 30]);
      for (const [index, checkpoint] of checkpoints.entries()) {
        expect(checkpoint.seq - (checkpoints[index - 1]?.seq ?? 0)).toBeLessThanOrEqual(10);
      }
      expect(checkpoints.every((checkpoint) => checkpoint.keyId === signer.keyId)).toBe(true);
      const report = await log.verify({ publicKey });
      expect(report).toMatchObject({ ok: true, checked: 36, signaturesChecked: true });
      expect(report.checkpointsVerified).toBe(checkpoints.length);
      await log.close();
      opened.splice(opened.indexOf(log), 1);
      const reopened = await open({ signer });
      expect((await reopened.checkpoints()).at(-1)?.seq).toBe(36);
    });

    describe('detects tampering', () => {
      let log: AuditLog;
      beforeEach(async () => {
        log = await open({ signer, checkpointEvery: 10 });
        for (let round = 0; round < 5; round++) await fill(log, 10, round * 10);
        await log.checkpoint();
      });

      it('an edited field', async () => {
        await store.execute(
          `update audit_events set body = replace(body, '"customers"', '"payroll"') where seq = ?`,
          [7],
        );
        expect((await log.verify({ publicKey })).firstBad).toMatchObject({
          seq: 7,
          problem: 'hash_mismatch',
        });
      });

      it('an edited searchable column', async () => {
        await store.execute(`update audit_events set session_id = 'elsewhere' where seq = ?`, [8]);
        expect((await log.verify({ publicKey })).firstBad).toMatchObject({
          seq: 8,
          problem: 'hash_mismatch',
        });
      });

      it('a deleted record', async () => {
        await store.execute('delete from audit_events where seq = ?', [12]);
        expect((await log.verify({ publicKey })).firstBad).toMatchObject({
          seq: 13,
          problem: 'sequence_gap',
        });
      });

      it('two swapped records', async () => {
        await store.execute('update audit_events set seq = -5 where seq = 5');
        await store.execute('update audit_events set seq = 5 where seq = 6');
        await store.execute('update audit_events set seq = 6 where seq = -5');
        expect((await log.verify({ publicKey })).firstBad).toMatchObject({ seq: 5, problem: 'broken_link' });
      });

      it('an inserted record, even one correctly linked to its predecessor', async () => {
        const records = await all(log);
        // at 15, between two checkpoints (a forged record on a checkpointed seq is caught by the checkpoint)
        await store.execute('update audit_events set seq = -seq - 1 where seq >= ?', [15]);
        await store.execute('update audit_events set seq = -seq where seq < 0');
        const forged = linkRecord(records[13], prepareEvent(intentEvent(999)));
        await store.execute(
          'insert into audit_events (seq, prev_hash, hash, body, time, kind, decision_id, session_id, agent_id, tool, effect) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
          [
            forged.seq,
            forged.prevHash,
            forged.hash,
            forged.body,
            forged.time,
            forged.kind,
            forged.decisionId,
            forged.sessionId,
            forged.agentId,
            forged.tool,
            forged.effect,
          ],
        );
        expect((await log.verify({ publicKey })).firstBad).toMatchObject({ seq: 16, problem: 'broken_link' });
      });

      it('a chain rewritten from an edited record on (every later hash recomputed)', async () => {
        const records = await all(log);
        let previous = records[19] as ChainedRecord;
        for (const record of records.slice(20)) {
          const body = record.seq === 21 ? record.body.replace('"customers"', '"payroll"') : record.body;
          const relinked = linkRecord(previous, { ...record, body });
          await store.execute('update audit_events set body = ?, prev_hash = ?, hash = ? where seq = ?', [
            relinked.body,
            relinked.prevHash,
            relinked.hash,
            relinked.seq,
          ]);
          previous = relinked;
        }
        const report = await log.verify({ publicKey });
        expect(report.ok).toBe(false);
        expect(report.firstBad?.problem).toBe('checkpoint_mismatch');
      });

      it('a truncated tail', async () => {
        const checkpoints = await log.checkpoints();
        const last = checkpoints.at(-1)?.seq ?? 0;
        await store.execute('delete from audit_events where seq > ?', [last - 3]);
        expect((await log.verify({ publicKey })).firstBad).toMatchObject({ problem: 'truncated' });
      });

      it('a forged checkpoint signature', async () => {
        await store.execute(
          `update audit_checkpoints set signature = ? where seq = (select min(seq) from audit_checkpoints)`,
          [Buffer.alloc(64, 1).toString('base64')],
        );
        expect((await log.verify({ publicKey })).firstBad).toMatchObject({ problem: 'bad_checkpoint' });
      });

      it('a log checked against a checkpoint kept elsewhere', async () => {
        const external = (await log.checkpoints()).at(-1);
        if (external === undefined) throw new Error('no checkpoint');
        await store.execute('delete from audit_checkpoints');
        await store.execute('delete from audit_events where seq > ?', [external.seq - 2]);
        // from inside, the deleted checkpoints are missed at the cadence the log signs at...
        expect((await log.verify({ publicKey })).firstBad).toMatchObject({
          seq: 10,
          problem: 'missing_checkpoint',
        });
        // ...and against the copy kept elsewhere, the cut tail shows
        const report = await log.verify({ publicKey, extraCheckpoints: [external], checkpointEvery: 1_000 });
        expect(report.firstBad).toMatchObject({ problem: 'truncated' });
      });
    });

    it('prunes up to a checkpoint and still verifies from it, while appends continue', async () => {
      const log = await open({ signer, checkpointEvery: 10 });
      for (let round = 0; round < 3; round++) await fill(log, 10, round * 10);
      await fill(log, 5, 100);
      const before = await log.checkpoints();
      const pruned = await log.prune(new Date(Date.now() + 60_000));
      expect(pruned.anchor?.seq).toBe(before.at(-1)?.seq);
      expect(pruned.deleted).toBe(pruned.anchor?.seq);
      await fill(log, 5, 200);
      const report = await log.verify({ publicKey });
      expect(report).toMatchObject({ ok: true, anchoredAt: pruned.anchor?.seq, lastSeq: 40 });
      expect((await all(log))[0]?.seq).toBe((pruned.anchor?.seq ?? 0) + 1);
      expect(await log.prune(new Date(0))).toEqual({ deleted: 0 });
    });

    describe('captured content', () => {
      const all256 = Uint8Array.from({ length: 256 }, (_, index) => index);
      const bytesOf = (content: Uint8Array | undefined) => (content === undefined ? undefined : [...content]);

      it('keeps content apart from the chain by its hash, readable by another instance once the append resolves', async () => {
        const writer = await open();
        const reader = await open();
        const contents = [
          capturedContent(all256),
          capturedContent(new Uint8Array(0)),
          capturedContent(randomBytes(1_500_000)),
          capturedContent('ünï©ødé 🦊\u0000 and a NUL'),
        ];
        await writer.append(intentEvent(1), { captured: contents });
        for (const content of contents) {
          const read = await reader.readCaptured(content.hash);
          expect(read).toBeInstanceOf(Uint8Array);
          expect(read?.length).toBe(content.bytes.length);
          expect(Buffer.from(read ?? []).equals(Buffer.from(content.bytes))).toBe(true);
        }
        // the chain holds the event only: the content is not part of any record
        const records = await all(writer);
        expect(records).toHaveLength(1);
        expect(records[0]?.body).not.toContain('ünï©ødé');
        expect(await writer.verify()).toMatchObject({ ok: true, checked: 1 });
      });

      it('answers undefined for a hash it does not hold', async () => {
        const log = await open();
        await log.append(intentEvent(1), { captured: [capturedContent('held')] });
        expect(await log.readCaptured(capturedContent('not held').hash)).toBeUndefined();
        expect(await log.readCaptured('not a hash')).toBeUndefined();
        expect(await log.readCaptured('')).toBeUndefined();
      });

      it('refuses content whose hash is not the sha256 of its bytes, and writes nothing of that append', async () => {
        const log = await open();
        const good = capturedContent('the bytes');
        const other = capturedContent('other bytes');
        const refused = [
          { hash: other.hash, bytes: good.bytes },
          { hash: good.hash.toUpperCase(), bytes: good.bytes },
          { hash: 'sha256:00', bytes: good.bytes },
        ];
        const results = await Promise.allSettled([
          ...refused.map((content, index) =>
            log.append(intentEvent(10 + index), { captured: [good, content] }),
          ),
          log.append(intentEvent(1), { captured: [good] }), // in the same turn: unaffected
        ]);
        for (const result of results.slice(0, -1))
          expect(result).toMatchObject({ status: 'rejected', reason: { code: 'invalid_input' } });
        expect(results.at(-1)?.status).toBe('fulfilled');
        expect((await log.query({})).map((record) => record.event.decisionId)).toEqual(['d1']);
        expect(await log.readCaptured(other.hash)).toBeUndefined();
        expect(bytesOf(await log.readCaptured(good.hash))).toEqual(bytesOf(good.bytes));
      });

      it('stores what was handed over, even if the caller changes its bytes afterwards', async () => {
        const log = await open();
        const content = capturedContent('before the call');
        const appended = log.append(intentEvent(1), { captured: [content] });
        content.bytes.fill(0);
        await appended;
        expect(Buffer.from((await log.readCaptured(content.hash)) ?? []).toString()).toBe('before the call');
      });

      it('commits content and its record together: an append that fails writes neither', async () => {
        const log = await open();
        const lostWithRecord = capturedContent('lost with its record');
        const undo = await store.refuseInserts('audit_events');
        await expect(log.append(intentEvent(1), { captured: [lostWithRecord] })).rejects.toMatchObject({
          code: 'audit_unavailable',
        });
        await undo();
        expect(await log.readCaptured(lostWithRecord.hash)).toBeUndefined();

        const lostWithContent = capturedContent('its content could not be stored');
        const undoCaptures = await store.refuseInserts('audit_captures');
        await expect(log.append(intentEvent(2), { captured: [lostWithContent] })).rejects.toMatchObject({
          code: 'audit_unavailable',
        });
        // an append without content does not touch that table
        await log.append(intentEvent(3));
        await undoCaptures();
        expect(await log.query({ decisionId: 'd2' })).toEqual([]);
        expect(await log.readCaptured(lostWithContent.hash)).toBeUndefined();

        const kept = capturedContent('kept');
        await log.append(intentEvent(4), { captured: [kept] });
        expect(bytesOf(await log.readCaptured(kept.hash))).toEqual(bytesOf(kept.bytes));
        expect((await log.query({})).map((record) => record.event.decisionId)).toEqual(['d3', 'd4']);
        expect(await log.verify()).toMatchObject({ ok: true, checked: 2 });
      });

      it('accepts the same content again: in later appends, twice in one append, and in one batch', async () => {
        const log = await open();
        const same = capturedContent('the same file, unchanged');
        await log.append(intentEvent(1), { captured: [same] });
        await log.append(intentEvent(2), { captured: [same, same] });
        await Promise.all(
          Array.from({ length: 20 }, (_, index) => log.append(intentEvent(10 + index), { captured: [same] })),
        );
        expect(await log.query({ limit: 100 })).toHaveLength(22);
        expect(bytesOf(await log.readCaptured(same.hash))).toEqual(bytesOf(same.bytes));
      });

      it('keeps content across a reopen (a restart)', async () => {
        const first = await open();
        const content = capturedContent(randomBytes(4096));
        await first.append(intentEvent(1), { captured: [content] });
        await first.close();
        opened.splice(opened.indexOf(first), 1);
        const reopened = await open();
        expect(bytesOf(await reopened.readCaptured(content.hash))).toEqual(bytesOf(content.bytes));
      });

      it('prunes the content only pruned records used, and keeps what a kept record uses', async () => {
        const log = await open({ signer, checkpointEvery: 10 });
        const onlyPruned = capturedContent('used by record 3 only');
        const atAnchor = capturedContent('used by record 10, the anchor, only');
        const usedAgain = capturedContent('used by records 5 and 15');
        const usedAfter = capturedContent('used by record 12');
        const uses = new Map<number, CapturedContent[]>([
          [3, [onlyPruned]],
          [5, [usedAgain]],
          [10, [atAnchor]],
          [12, [usedAfter]],
          [15, [usedAgain]],
        ]);
        for (let seq = 1; seq <= 15; seq++) {
          const receipt = await log.append(intentEvent(seq), { captured: uses.get(seq) ?? [] });
          expect(receipt.seq).toBe(seq);
        }
        // the only checkpoint is at 10: records up to it go, and so does what only they used
        const pruned = await log.prune(new Date(Date.now() + 60_000));
        expect(pruned).toMatchObject({ deleted: 10, anchor: { seq: 10 }, capturedDeleted: 2 });
        expect(await log.readCaptured(onlyPruned.hash)).toBeUndefined();
        expect(await log.readCaptured(atAnchor.hash)).toBeUndefined();
        expect(bytesOf(await log.readCaptured(usedAgain.hash))).toEqual(bytesOf(usedAgain.bytes));
        expect(bytesOf(await log.readCaptured(usedAfter.hash))).toEqual(bytesOf(usedAfter.bytes));
        // content stored again after it was pruned is kept with its new record
        await log.append(intentEvent(16), { captured: [onlyPruned] });
        expect(bytesOf(await log.readCaptured(onlyPruned.hash))).toEqual(bytesOf(onlyPruned.bytes));
        expect(await log.verify({ publicKey })).toMatchObject({ ok: true, anchoredAt: 10, lastSeq: 16 });
      });

      it('refuses content that was altered in the store rather than hand it to a rollback', async () => {
        const log = await open();
        const content = capturedContent('the original bytes');
        await log.append(intentEvent(1), { captured: [content] });
        await store.execute('update audit_captures set content = ? where hash = ?', [
          Buffer.from('planted bytes'),
          content.hash,
        ]);
        await expect(log.readCaptured(content.hash)).rejects.toMatchObject({
          code: 'audit_unavailable',
          message: /does not match its hash/,
        });
      });
    });

    it('refuses a store written by a newer version', async () => {
      const log = await open();
      await log.close();
      opened.splice(opened.indexOf(log), 1);
      await store.setSchemaVersion(99);
      await expect(store.open()).rejects.toThrow(/newer/);
    });

    describe('what readiness and metrics read', () => {
      it('reports every commit, failed ones too, and has nothing queued once appends are answered', async () => {
        const commits: { items: number; seconds: number; ok: boolean }[] = [];
        const log = await open({ onCommit: (commit) => commits.push(commit) });
        const appending = fill(log, 5);
        expect(log.pendingAppends?.()).toBe(5);
        await appending;
        expect(log.pendingAppends?.()).toBe(0);
        expect(commits.every((commit) => commit.ok && commit.seconds >= 0)).toBe(true);
        expect(commits.reduce((sum, commit) => sum + commit.items, 0)).toBe(5);
        const allow = await store.refuseInserts('audit_events');
        await expect(log.append(intentEvent(9))).rejects.toThrow();
        await allow();
        expect(commits.at(-1)).toMatchObject({ items: 1, ok: false });
        expect(log.pendingAppends?.()).toBe(0);
      });

      it('probes its write lock: writable when free, not while another writer holds it', async () => {
        const log = await open();
        await log.append(intentEvent(1));
        await expect(log.probeWritable?.(1_000)).resolves.toBeUndefined();
        const release = await store.holdWriteLock();
        try {
          await expect(log.probeWritable?.(100)).rejects.toMatchObject({ code: 'audit_unavailable' });
        } finally {
          await release();
        }
        await expect(log.probeWritable?.(1_000)).resolves.toBeUndefined();
        // the probe wrote nothing
        expect(await all(log)).toHaveLength(1);
      });

      it('is not writable once the log refuses appends for good (closed), however free the store is', async () => {
        const log = await open();
        await expect(log.probeWritable?.(1_000)).resolves.toBeUndefined();
        await log.close();
        opened.splice(opened.indexOf(log), 1);
        await expect(log.append(intentEvent(1))).rejects.toThrow(/closed/);
        await expect(log.probeWritable?.(1_000)).rejects.toMatchObject({
          code: 'audit_unavailable',
          details: { cause: 'closed' },
        });
      });
    });

    it('rejects appends after close instead of dropping them', async () => {
      const log = await open();
      await log.close();
      opened.splice(opened.indexOf(log), 1);
      await expect(log.append(intentEvent(1))).rejects.toThrow(/closed/);
    });
  });
}
