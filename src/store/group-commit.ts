/**
 * @module store/group-commit
 * Batches concurrent appends into one durable write: the first append of a batch schedules a flush
 * on the next turn of the event loop; everything queued by then is written in one transaction, and
 * every promise settles with that transaction's result. One flush per batch, not per call.
 */

interface Pending<Item, Receipt> {
  readonly item: Item;
  resolve(receipt: Receipt): void;
  reject(error: unknown): void;
}

export class GroupCommitQueue<Item, Receipt> {
  private queue: Pending<Item, Receipt>[] = [];
  private scheduled = false;
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;

  /**
   * @param writeBatch writes all items durably (one transaction) and returns one receipt per item, or throws.
   * @param maxBatch the most items written in one transaction.
   */
  constructor(
    private readonly writeBatch: (items: readonly Item[]) => Promise<Receipt[]> | Receipt[],
    private readonly maxBatch = 1_024,
  ) {}

  enqueue(item: Item): Promise<Receipt> {
    if (this.closed) return Promise.reject(new Error('the audit log is closed'));
    return new Promise<Receipt>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Writes whatever is queued and waits for it. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.scheduled) {
      this.schedule();
      await this.flushing;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await this.flushing;
  }

  async close(): Promise<void> {
    await this.drain();
    this.closed = true;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate lets every append issued in this turn join the batch.
    setImmediate(() => {
      this.flushing = this.flushing.then(() => this.flush());
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        const receipts = await this.writeBatch(batch.map((pending) => pending.item));
        for (const [index, pending] of batch.entries()) pending.resolve(receipts[index] as Receipt);
      } catch (error) {
        for (const pending of batch) pending.reject(error);
      }
    }
  }
}
