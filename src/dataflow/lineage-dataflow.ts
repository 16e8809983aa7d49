/**
 * @module dataflow/lineage-dataflow
 * The data flow of a delegated session seen together with the sessions it was delegated from: what
 * the orchestrator read (its labels, its untrusted values) is known to every subagent it handed the
 * task to, so a flow the orchestrator may not make, its subagents may not make either (decision 0020).
 * Read-only; each session's own view stays where it is.
 */
import type { DataflowView, SourceRecord, ValueOrigins } from '../spec/dataflow-view.js';

export class LineageDataflow implements DataflowView {
  /** `views`: the sessions delegated from, outermost first, then the session itself. */
  constructor(private readonly views: readonly DataflowView[]) {}

  get labels(): readonly string[] {
    const labels = new Set<string>();
    for (const view of this.views) for (const label of view.labels) labels.add(label);
    return [...labels];
  }

  get complete(): boolean {
    return this.views.every((view) => view.complete);
  }

  get hasUserInput(): boolean {
    return this.views.some((view) => view.hasUserInput);
  }

  get phraseSearchChars(): number {
    let chars = 0;
    for (const view of this.views) chars += view.phraseSearchChars ?? 0;
    return chars;
  }

  origins(value: string, phrase: boolean): ValueOrigins {
    let user = false;
    let structured: SourceRecord | undefined;
    let untrusted: SourceRecord | undefined;
    let designated: SourceRecord | undefined;
    let undeclared: SourceRecord | undefined;
    let userDeclaredBy: string | undefined;
    for (const view of this.views) {
      const found = view.origins(value, phrase);
      if (found.user && !user) userDeclaredBy = found.userDeclaredBy;
      user ||= found.user;
      structured ??= found.structured;
      untrusted ??= found.untrusted;
      designated ??= found.designated;
      undeclared ??= found.undeclared;
    }
    return { user, structured, untrusted, designated, undeclared, userDeclaredBy };
  }

  tenantsOf(value: string): ReadonlyMap<string, SourceRecord> | undefined {
    let merged: Map<string, SourceRecord> | undefined;
    for (const view of this.views) {
      const tenants = view.tenantsOf(value);
      if (tenants === undefined) continue;
      merged ??= new Map();
      for (const [tenant, source] of tenants) if (!merged.has(tenant)) merged.set(tenant, source);
    }
    return merged;
  }
}
