/**
 * @module spec/memory-labels
 * Labels the memory guard keeps for entries of an MCP memory server (which stores plain text): who
 * wrote an entity, observation or relation, for which tenant, and when. The guard filters reads and
 * purges by them; a store keeps them beside the audit log.
 */

/** Who wrote a memory entry and when. */
export interface MemoryLabel {
  /** The writer's tenant (`acme` from a `tenant:acme` role, else `owner:<owner>` or `agent:<id>`). */
  readonly tenant: string;
  /** The human accountable for the writing agent, when known. */
  readonly owner?: string;
  readonly agent: string;
  /** Epoch milliseconds of the write. */
  readonly at: number;
}

export interface LabelledKey {
  readonly key: string;
  readonly label: MemoryLabel;
}

/**
 * Where labels live. Keys are opaque strings built by the guard (entity, observation, relation). A
 * label is written once: writing an existing key keeps the first label (the first writer owns it).
 */
export interface MemoryLabelIndex {
  label(entries: readonly LabelledKey[]): Promise<void>;
  get(keys: readonly string[]): Promise<ReadonlyMap<string, MemoryLabel>>;
  remove(keys: readonly string[]): Promise<void>;
  close(): Promise<void>;
}
