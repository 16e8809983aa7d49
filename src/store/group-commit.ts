/**
 * @module store/group-commit
 * Batches concurrent appends into one durable write: the first append of a batch schedules a flush
 * on the next turn of the event loop; everything queued by then is written in one transaction, and
 * every promise settles with that transaction's result. One flush per batch, not per call.
 *
 * With a writer that works in another thread, several batches may be in flight at once
 * (`maxInFlight`); the writer must then apply them in the order they were handed over.
 */

interface Pending<Item, Receipt> {
  readonly item: Item;
  resolve(receipt: Receipt): void;
  reject(error: unknown): void;
}

export interface GroupCommitOptions {
  /** The most items written in one transaction. Default 1,024. */
  readonly maxBatch?: number;
  /** Batches handed to the writer before the first is answered. Default 1. */
  readonly maxInFlight?: number;
  /** Told about every batch once written or failed: its size and how long the writer took. Must not throw. */
  readonly onBatch?: (batch: { items: number; seconds: number; ok: boolean }) => void;
}

export class GroupCommitQueue<Item, Receipt> {
  private queue: Pending<Item, Receipt>[] = [];
  private scheduled = false;
  private inFlight = 0;
  private closed = false;
  /**
   * Items handed in so far, and items whose write has settled (written or failed) with every batch
   * handed over before theirs: batches may settle out of order (a `causal` log answers a batch that may
   * be synced later at once, while an earlier one waits for its fsync), and `drain` counts a prefix.
   */
  private enqueued = 0;
  private settled = 0;
  /** Batches handed to the writer and not counted in `settled` yet, in the order handed over. */
  private unsettled: { readonly items: number; done: boolean }[] = [];
  private drainWaiters: { target: number; resolve: () => void }[] = [];
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  private readonly onBatch: GroupCommitOptions['onBatch'];

  /** @param writeBatch writes all items durably, in order, and returns one receipt per item, or throws. */
  constructor(
    private readonly writeBatch: (items: readonly Item[]) => Promise<Receipt[]> | Receipt[],
    options: GroupCommitOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 1_024;
    this.maxInFlight = options.maxInFlight ?? 1;
    this.onBatch = options.onBatch;
  }

  /** Items handed in whose write has not settled yet, with every one handed in before (queued or being written). */
  get pending(): number {
    return this.enqueued - this.settled;
  }

  /** Closed: every later append is refused. */
  get isClosed(): boolean {
    return this.closed;
  }

  enqueue(item: Item): Promise<Receipt> {
    if (this.closed) return Promise.reject(new Error('the audit log is closed'));
    this.enqueued++;
    return new Promise<Receipt>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Resolves once everything enqueued before this call has been written (or failed), even while new
   * appends keep arriving.
   */
  drain(): Promise<void> {
    const target = this.enqueued;
    if (this.settled >= target) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push({ target, resolve }));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.drain();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate lets every append issued in this turn join the batch.
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight++;
      const handed = { items: batch.length, done: false };
      this.unsettled.push(handed);
      this.write(batch).finally(() => {
        this.inFlight--;
        handed.done = true;
        while (this.unsettled[0]?.done === true) this.settled += this.unsettled.shift()?.items ?? 0;
        this.notifyDrained();
        if (this.queue.length > 0) this.schedule();
      });
    }
  }

  private async write(batch: Pending<Item, Receipt>[]): Promise<void> {
    const startedAt = performance.now();
    try {
      const receipts = await this.writeBatch(batch.map((pending) => pending.item));
      if (receipts.length !== batch.length)
        throw new Error(`writer returned ${receipts.length} receipts for ${batch.length} items`);
      this.told(batch.length, startedAt, true);
      for (const [index, pending] of batch.entries()) pending.resolve(receipts[index] as Receipt);
    } catch (error) {
      this.told(batch.length, startedAt, false);
      for (const pending of batch) pending.reject(error);
    }
  }

  private told(items: number, startedAt: number, ok: boolean): void {
    try {
      this.onBatch?.({ items, seconds: (performance.now() - startedAt) / 1000, ok });
    } catch {
      // a metric is never worth a lost append
    }
  }

  private notifyDrained(): void {
    const waiting: typeof this.drainWaiters = [];
    for (const waiter of this.drainWaiters) {
      if (this.settled >= waiter.target) waiter.resolve();
      else waiting.push(waiter);
    }
    this.drainWaiters = waiting;
  }
}
