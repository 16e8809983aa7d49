/**
 * @module replay/trace
 * The format-neutral shape of a recorded session that `reins replay` runs through the pipeline, and
 * the interface every importer implements (AgentDojo runs, OpenAI-style message logs). An importer
 * only translates; deciding is the harness's job, exactly as in production. Our own audit log is not
 * a trace: it is replayed as recorded traffic (policy/recorded-traffic), with the full principal.
 */
import type { ToolRef } from '../spec/tool-call.js';

/** One thing that happened in the session, in order. */
export type ReplayStep =
  /** The user's own words: declared as trusted input for the session (values in it are not derived). */
  | { readonly kind: 'user-input'; readonly text: string }
  /** A tool call with the result the trace recorded (what the agent saw). */
  | {
      readonly kind: 'call';
      readonly tool: ToolRef;
      readonly args: Readonly<Record<string, unknown>>;
      readonly result:
        | { readonly ok: true; readonly output: unknown }
        | { readonly ok: false; readonly error: string };
    };

export interface ReplayTrace {
  /** Stable id written to the decisions file (for files: the path relative to the source). */
  readonly id: string;
  /** Selects the policy when one is written per environment (AgentDojo: the suite). */
  readonly environment: string | undefined;
  /** Who acted; importers without identities use a fixed agent id. */
  readonly agentId: string;
  readonly steps: readonly ReplayStep[];
}

/** Reads recorded sessions of one format. Traces come in a stable order; a bad trace is reported, not skipped silently. */
export interface TraceImporter {
  /** The `--format` name. */
  readonly format: string;
  read(source: string): AsyncIterable<ReplayTrace | TraceProblem>;
}

/** A trace the importer could not read: replay reports it and counts it, and goes on. */
export interface TraceProblem {
  readonly kind: 'problem';
  readonly id: string;
  readonly message: string;
}

export function isProblem(item: ReplayTrace | TraceProblem): item is TraceProblem {
  return 'kind' in item && item.kind === 'problem';
}
