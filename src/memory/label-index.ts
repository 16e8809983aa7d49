/**
 * @module memory/label-index
 * An in-process MemoryLabelIndex, for the library API and tests; the gateway uses the SQLite one so
 * that several `reins mcp` processes in front of one memory server share labels.
 */
import type { LabelledKey, MemoryLabel, MemoryLabelIndex } from '../spec/memory-labels.js';

export class InMemoryLabelIndex implements MemoryLabelIndex {
  private readonly labels = new Map<string, MemoryLabel>();

  async label(entries: readonly LabelledKey[]): Promise<void> {
    for (const { key, label } of entries) if (!this.labels.has(key)) this.labels.set(key, label);
  }

  async get(keys: readonly string[]): Promise<ReadonlyMap<string, MemoryLabel>> {
    const found = new Map<string, MemoryLabel>();
    for (const key of keys) {
      const label = this.labels.get(key);
      if (label !== undefined) found.set(key, label);
    }
    return found;
  }

  async remove(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.labels.delete(key);
  }

  async close(): Promise<void> {}
}
