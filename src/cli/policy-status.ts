/**
 * @module cli/policy-status
 * The policy in force for `reins mcp`, `reins gateway` and `reins serve`, with what the control plane shows about it: the files it
 * was loaded from, when, and how the last reload went (a rejected version keeps the old one in force,
 * and its problems are shown). Every reload is also recorded in the audit log (`reloads.recordTo`).
 */

import type { PolicyStatus } from '../api/api-routes.js';
import type { PolicyStatusSource } from '../api/control-api.js';
import { readPolicySources } from '../loader/policy-files.js';
import { PolicyWatcher, type ReloadEvent } from '../loader/policy-watcher.js';
import { formatProblem } from '../policy/policy-problem.js';
import type { PreparedPolicy } from '../policy/prepared-policy.js';
import { PolicyReloadAudit } from './policy-reload-audit.js';

export class PolicyStatusTracker implements PolicyStatusSource {
  private readonly watcher: PolicyWatcher;
  /** Records reloads in the audit log once it is open. */
  readonly reloads: PolicyReloadAudit;
  private files: string[];
  private loadedAt = new Date().toISOString();
  private lastReload: PolicyStatus['lastReload'];

  /** Loads the policy (throws `invalid_policy` if it does not compile) and watches it. */
  constructor(
    private readonly path: string,
    log: (line: string) => void,
  ) {
    this.reloads = new PolicyReloadAudit(path, log);
    this.watcher = new PolicyWatcher({ path, onReload: (event) => this.reloaded(event, log) }).start();
    this.files = this.readFiles();
  }

  get current(): PreparedPolicy {
    return this.watcher.current;
  }

  status(): PolicyStatus {
    const policy = this.watcher.current;
    return {
      path: this.path,
      hash: policy.hash,
      files: this.files,
      summary: { ...policy.summary },
      loadedAt: this.loadedAt,
      ...(this.lastReload ? { lastReload: this.lastReload } : {}),
    };
  }

  /**
   * What `/readyz` says about the policy: loaded while a compiled policy is in force (its hash). A
   * rejected reload keeps the previous policy in force — the gateway goes on enforcing it, it never runs
   * without one — so that stays ready, and says so; the problems are left out (they quote the policy
   * files, and the endpoint is public: `/v1/policy` and the log have them).
   */
  readiness(): { loaded: boolean; detail: string } {
    const hash = this.watcher.current?.hash;
    if (typeof hash !== 'string' || hash === '') return { loaded: false, detail: 'no policy in force' };
    const reload = this.lastReload;
    if (reload?.outcome !== 'rejected') return { loaded: true, detail: hash };
    const problems = `${reload.problems.length} problem${reload.problems.length === 1 ? '' : 's'}`;
    return {
      loaded: true,
      detail: `${hash} (the reload at ${reload.at} was rejected, ${problems}: the previous policy stays in force)`,
    };
  }

  stop(): void {
    this.watcher.stop();
  }

  private reloaded(event: ReloadEvent, log: (line: string) => void): void {
    this.reloads.reloaded(event);
    const at = new Date().toISOString();
    if (event.kind === 'policy-reloaded') {
      this.loadedAt = at;
      this.files = this.readFiles();
      this.lastReload = { at, outcome: 'reloaded', problems: [] };
      log(`policy reloaded: ${event.hash}`);
    } else {
      const problems = event.problems.map(formatProblem);
      this.lastReload = { at, outcome: 'rejected', problems };
      log(`new policy rejected, ${event.keptHash} stays in force:\n${problems.join('\n')}`);
    }
  }

  private readFiles(): string[] {
    const read = readPolicySources(this.path);
    return read.ok ? read.sources.map((source) => source.file) : [];
  }
}
