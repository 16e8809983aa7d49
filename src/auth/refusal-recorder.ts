/**
 * @module auth/refusal-recorder
 * Records refused credentials (`credential-rejected`) without letting whoever sends them decide how
 * much the gateway writes. Anyone who can reach the endpoint can send a credential, forged or not, and
 * claim any agent and session in it; one record per attempt would let them fill the disk, slow
 * `reins audit verify` and bury a real attack in noise.
 *
 * Within each window (default one minute) the first refusal of each kind (code, claimed agent,
 * claimed session, tool) is recorded as it happens, up to `maxRecords` kinds; repeats of a recorded
 * kind, and every refusal beyond the cap, are counted and written as summary records (`repeated: n`)
 * when the window ends or the recorder is flushed. Every refusal is counted; memory stays bounded by
 * `maxRecords`.
 */
import { randomUUID } from 'node:crypto';
import type { CredentialRejectedEvent } from '../spec/audit-event.js';
import type { AuditLog } from '../store/audit-log.js';

export interface RefusalLimits {
  /** Length of a window, in ms. Default one minute. */
  readonly windowMs?: number;
  /** Refusals recorded one by one per window; the rest are summarised. Default 100. */
  readonly maxRecords?: number;
}

export const DEFAULT_REFUSAL_WINDOW_MS = 60_000;
export const DEFAULT_MAX_REFUSAL_RECORDS = 100;

interface Kind {
  readonly first: CredentialRejectedEvent;
  repeats: number;
}

export class RefusalRecorder {
  private readonly windowMs: number;
  private readonly maxRecords: number;
  private windowStart: number | undefined;
  private kinds = new Map<string, Kind>();
  /** Refusals beyond the cap in this window: counted only (their claims are not kept). */
  private overflow = 0;
  private timer: NodeJS.Timeout | undefined;
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly audit: AuditLog,
    limits: RefusalLimits,
    private readonly clock: () => number,
  ) {
    this.windowMs = limits.windowMs ?? DEFAULT_REFUSAL_WINDOW_MS;
    this.maxRecords = limits.maxRecords ?? DEFAULT_MAX_REFUSAL_RECORDS;
    if (!(this.windowMs > 0) || !Number.isInteger(this.maxRecords) || this.maxRecords < 1)
      throw new Error('refusal limits: the window and the number of records must be positive');
  }

  /** Records `event` now, or counts it into a summary written at the end of the window. */
  async record(event: CredentialRejectedEvent): Promise<void> {
    const now = this.clock();
    if (this.windowStart !== undefined && now - this.windowStart >= this.windowMs) await this.flush();
    this.windowStart ??= now;
    const key = JSON.stringify([event.code, event.claimedAgentId, event.claimedSessionId, event.tool]);
    const kind = this.kinds.get(key);
    if (kind !== undefined) return this.count(() => (kind.repeats += 1));
    if (this.kinds.size >= this.maxRecords) return this.count(() => (this.overflow += 1));
    this.kinds.set(key, { first: event, repeats: 0 });
    await this.audit.append(event);
  }

  /** Writes the summaries of the current window (also at shutdown); waits for earlier flushes. */
  flush(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const summaries = this.summaries();
    this.kinds = new Map();
    this.overflow = 0;
    this.windowStart = undefined;
    const previous = this.pending;
    this.pending = (async () => {
      await previous.catch(() => {});
      // one summary the log refuses must not cost the others (the count of the rest, the cap's)
      const failures: unknown[] = [];
      for (const summary of summaries)
        await this.audit.append(summary).catch((error) => failures.push(error));
      if (failures.length > 0) throw failures[0];
    })();
    return this.pending;
  }

  private count(increment: () => void): void {
    increment();
    // the summary is written when the window ends even if no refusal comes after it
    if (this.timer === undefined) {
      const start = this.windowStart ?? this.clock();
      this.timer = setTimeout(() => void this.flush().catch(() => {}), start + this.windowMs - this.clock());
      this.timer.unref();
    }
  }

  private summaries(): CredentialRejectedEvent[] {
    const start = new Date(this.windowStart ?? this.clock()).toISOString();
    const time = new Date(this.clock()).toISOString();
    const summaries: CredentialRejectedEvent[] = [];
    for (const { first, repeats } of this.kinds.values()) {
      if (repeats === 0) continue;
      const id = randomUUID();
      const { tokenId: _ignored, ...same } = first;
      summaries.push({
        ...same,
        id,
        decisionId: id,
        time,
        repeated: repeats,
        message: `${repeats} more refusal(s) like record ${first.id} since ${start}, counted, not recorded one by one: ${first.message}`,
      });
    }
    if (this.overflow > 0) {
      const id = randomUUID();
      summaries.push({
        v: 1,
        id,
        decisionId: id,
        time,
        kind: 'credential-rejected',
        claimedAgentId: '',
        claimedSessionId: '',
        code: 'over_record_cap',
        repeated: this.overflow,
        message: `${this.overflow} refused credential(s) since ${start} beyond the cap of ${this.maxRecords} records per window: counted, their claims not recorded`,
      });
    }
    return summaries;
  }
}
