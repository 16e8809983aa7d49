/**
 * @module loader/policy-watcher
 * Hot reload: watches a policy file or directory and swaps in the new version when it compiles.
 * An invalid new version is rejected with its problems and the old one stays in force. The swap is
 * a single reference assignment, and the harness reads `current` once per call, so a decision never
 * mixes two versions.
 */
import { type FSWatcher, statSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { PolicyProblem } from '../policy/policy-problem.js';
import { formatProblem } from '../policy/policy-problem.js';
import type { PreparedPolicy } from '../policy/prepared-policy.js';
import { ReinsError } from '../spec/errors.js';
import { loadPolicy } from './policy-files.js';

export type ReloadEvent =
  | { readonly kind: 'policy-reloaded'; readonly hash: string; readonly previousHash: string }
  | {
      readonly kind: 'policy-rejected';
      readonly problems: readonly PolicyProblem[];
      readonly keptHash: string;
    };

export interface PolicyWatcherOptions {
  readonly path: string;
  /** Told about every reload attempt (log it, audit it, alert on rejection). */
  readonly onReload?: (event: ReloadEvent) => void;
  /** Editors write files in several steps; wait this long after the last change. Default 100 ms. */
  readonly debounceMs?: number;
}

export class PolicyWatcher {
  private policy: PreparedPolicy;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;

  /** Loads the policy; throws `invalid_policy` if the first version does not compile (nothing to fall back to). */
  constructor(private readonly options: PolicyWatcherOptions) {
    const loaded = loadPolicy(options.path);
    if (!loaded.ok) {
      throw new ReinsError(
        'invalid_policy',
        `policy \`${options.path}\` is invalid:\n${loaded.problems.map(formatProblem).join('\n')}`,
        {
          problems: loaded.problems,
        },
      );
    }
    this.policy = loaded.policy;
  }

  get current(): PreparedPolicy {
    return this.policy;
  }

  /** Starts watching the file system. */
  start(): this {
    if (this.watcher) return this;
    const path = this.options.path;
    if (statSync(path).isDirectory()) {
      this.watcher = watch(path, { persistent: false }, () => this.schedule());
    } else {
      // Editors often replace a file (write a copy, rename it over): watch the directory, not the inode.
      const name = basename(path);
      this.watcher = watch(dirname(path), { persistent: false }, (_event, changed) => {
        if (changed === null || changed === name) this.schedule();
      });
    }
    return this;
  }

  /** Re-reads the policy now; returns the event it reported. */
  reload(): ReloadEvent {
    const loaded = loadPolicy(this.options.path);
    let event: ReloadEvent;
    if (loaded.ok) {
      const previousHash = this.policy.hash;
      this.policy = loaded.policy;
      event = { kind: 'policy-reloaded', hash: loaded.policy.hash, previousHash };
    } else {
      event = { kind: 'policy-rejected', problems: loaded.problems, keptHash: this.policy.hash };
    }
    this.options.onReload?.(event);
    return event;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.watcher?.close();
    this.watcher = undefined;
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.reload(), this.options.debounceMs ?? 100);
    this.timer.unref();
  }
}
