/**
 * @module export/checkpoint-publisher
 * Publishes every signed audit checkpoint outside the database, so that someone who can write to the
 * database cannot rewrite history and also the record of what it looked like (decision 0012). Targets:
 * a directory (`checkpoints.jsonl`, appended and fsync'd), a webhook (JSON POST) and an OTLP/HTTP logs
 * endpoint. `reins audit verify --checkpoints` checks the log against the directory's copy.
 *
 * Delivery: each target has its own queue, delivered in order, at least once. A failure is reported
 * (with how many checkpoints wait and the oldest one) and retried with backoff; nothing is dropped while
 * the process lives, and on close whatever could still not be published is named. Checkpoints always
 * stay in the database too, and each one covers every record before it (the chain), so a late
 * publication still protects everything up to it. The gateway keeps serving while a target is down:
 * otherwise whoever can block a webhook could stop every agent (decision 0012 says why).
 */
import type { AuditCheckpointV1 } from '../spec/audit-checkpoint.js';
import { describeError } from '../spec/errors.js';
import { appendCheckpoints, openCheckpointDirectory } from './checkpoint-file.js';
import { createOtelAuditExporter } from './otel-export.js';

/** Somewhere checkpoints are published to. */
export interface CheckpointTarget {
  /** For messages, e.g. `directory /var/lib/reins/checkpoints`. */
  readonly name: string;
  /** Delivers the checkpoints (in order); rejects if they are not all accepted. */
  deliver(checkpoints: readonly AuditCheckpointV1[]): Promise<void>;
  close?(): Promise<void>;
}

export interface CheckpointPublishConfig {
  readonly directory?: string | undefined;
  readonly webhook?: string | undefined;
  readonly otlp?: string | undefined;
}

export interface CheckpointPublisherOptions {
  readonly targets: readonly CheckpointTarget[];
  /** Where failures, recoveries and unpublished checkpoints are reported. */
  readonly log: (line: string) => void;
  /** First retry delay; doubles up to `retryMaxMs`. Default 1,000 ms. */
  readonly retryInitialMs?: number;
  /** Default 60,000 ms. */
  readonly retryMaxMs?: number;
}

const WEBHOOK_TIMEOUT_MS = 10_000;

interface TargetState {
  readonly target: CheckpointTarget;
  readonly queue: AuditCheckpointV1[];
  failures: number;
  sending: Promise<void> | undefined;
  timer: NodeJS.Timeout | undefined;
}

export class CheckpointPublisher {
  private readonly states: TargetState[];
  private closing = false;

  constructor(private readonly options: CheckpointPublisherOptions) {
    this.states = options.targets.map((target) => ({
      target,
      queue: [],
      failures: 0,
      sending: undefined,
      timer: undefined,
    }));
  }

  /** Queues the checkpoint for every target; never throws (the log's onCheckpoint). */
  publish(checkpoint: AuditCheckpointV1): void {
    for (const state of this.states) {
      state.queue.push(checkpoint);
      this.pump(state);
    }
  }

  /** Checkpoints not yet accepted by every target. */
  get pending(): number {
    return Math.max(0, ...this.states.map((state) => state.queue.length));
  }

  /** Waits for deliveries under way, tries once more what is queued, reports what is left. */
  async close(): Promise<void> {
    this.closing = true;
    for (const state of this.states) {
      clearTimeout(state.timer);
      state.timer = undefined;
    }
    await Promise.all(this.states.map((state) => state.sending));
    await Promise.all(this.states.map((state) => this.send(state)));
    for (const { target, queue } of this.states) {
      if (queue.length > 0)
        this.options.log(
          `audit checkpoints NOT PUBLISHED to ${target.name}: records ${queue.map((checkpoint) => checkpoint.seq).join(', ')} (they are in the database: publish them with \`reins audit checkpoint\` once the target is back)`,
        );
    }
    await Promise.all(this.states.map((state) => state.target.close?.()));
  }

  private pump(state: TargetState): void {
    if (state.sending !== undefined || state.timer !== undefined || this.closing) return;
    state.sending = this.send(state).finally(() => {
      state.sending = undefined;
      // published meanwhile while this delivery was under way
      if (state.queue.length > 0 && state.timer === undefined && state.failures === 0) this.pump(state);
    });
  }

  /** Delivers what is queued; on failure reports it and (unless closing) schedules a retry. */
  private async send(state: TargetState): Promise<void> {
    const batch = state.queue.slice();
    if (batch.length === 0) return;
    try {
      await state.target.deliver(batch);
    } catch (error) {
      state.failures++;
      const delay = Math.min(
        (this.options.retryInitialMs ?? 1_000) * 2 ** (state.failures - 1),
        this.options.retryMaxMs ?? 60_000,
      );
      const retry = this.closing ? '' : `; retrying in ${delay} ms`;
      this.options.log(
        `audit checkpoint publication to ${state.target.name} failed (${state.queue.length} waiting, the oldest for record ${batch[0]?.seq}): ${describeError(error)}${retry}`,
      );
      if (!this.closing) {
        state.timer = setTimeout(() => {
          state.timer = undefined;
          this.pump(state);
        }, delay);
        state.timer.unref();
      }
      return;
    }
    state.queue.splice(0, batch.length);
    if (state.failures > 0)
      this.options.log(`audit checkpoint publication to ${state.target.name} recovered`);
    state.failures = 0;
  }
}

/** The targets a configuration names; an unusable directory is an error now, not at the first checkpoint. */
export function checkpointTargets(config: CheckpointPublishConfig): CheckpointTarget[] {
  const targets: CheckpointTarget[] = [];
  if (config.directory !== undefined) targets.push(directoryTarget(config.directory));
  if (config.webhook !== undefined) targets.push(webhookTarget(config.webhook));
  if (config.otlp !== undefined) targets.push(otlpTarget(config.otlp));
  return targets;
}

export function directoryTarget(directory: string): CheckpointTarget {
  const path = openCheckpointDirectory(directory);
  return {
    name: `directory ${directory}`,
    deliver: async (checkpoints) => appendCheckpoints(path, checkpoints),
  };
}

/** POSTs `{ type: 'audit.checkpoints', checkpoints: [...] }`; any answer but 2xx is a failure. */
export function webhookTarget(url: string): CheckpointTarget {
  return {
    name: `webhook ${url}`,
    deliver: async (checkpoints) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'audit.checkpoints', checkpoints }),
        signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      });
      await response.body?.cancel();
      if (!response.ok) throw new Error(`the webhook answered HTTP ${response.status}`);
    },
  };
}

export function otlpTarget(url: string): CheckpointTarget {
  const exporter = createOtelAuditExporter({ url });
  return {
    name: `OTLP endpoint ${url}`,
    deliver: async (checkpoints) => {
      await exporter.exportCheckpoints(checkpoints);
    },
    close: () => exporter.shutdown(),
  };
}
