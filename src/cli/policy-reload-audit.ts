/**
 * @module cli/policy-reload-audit
 * Policy reloads become audit records (issue 12): which rules decided a call is part of the evidence,
 * so a change of the policy in force (`policy.reload`, with the hash before and after) and a rejected
 * version (`policy.reload-rejected`, with its problems and the hash that stays in force) are chained
 * with the calls. Nobody acts through Reins here (someone edited the file), so they are
 * `operator-action` records by the actor `system`. A reload is recorded as it happens, before any call
 * it decides, because the log orders appends as they are made.
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { ReloadEvent } from '../loader/policy-watcher.js';
import { formatProblem } from '../policy/policy-problem.js';
import type { OperatorActionEvent } from '../spec/audit-event.js';
import { describeError } from '../spec/errors.js';
import type { AuditLog } from '../store/audit-log.js';

/** The actor of records nobody made through Reins. */
export const SYSTEM_ACTOR = { id: 'system', roles: [] } as const;

/** A rejected version can have many problems; the record keeps this many (the log line has them all). */
const MAX_PROBLEMS = 20;

export function policyReloadEvent(
  policyPath: string,
  event: ReloadEvent,
  now = new Date(),
): OperatorActionEvent {
  const id = randomUUID();
  return {
    v: 1,
    id,
    time: now.toISOString(),
    kind: 'operator-action',
    decisionId: id,
    actor: { ...SYSTEM_ACTOR, roles: [] },
    action: event.kind === 'policy-reloaded' ? 'policy.reload' : 'policy.reload-rejected',
    target: { type: 'policy', id: resolve(policyPath) },
    reason: event.kind === 'policy-reloaded' ? reloaded(event) : rejected(event),
    sessionId: '',
    agentId: '',
  };
}

function reloaded(event: Extract<ReloadEvent, { kind: 'policy-reloaded' }>): string {
  return `${event.hash} in force (was ${event.previousHash})`;
}

function rejected(event: Extract<ReloadEvent, { kind: 'policy-rejected' }>): string {
  const problems = event.problems.slice(0, MAX_PROBLEMS).map(formatProblem);
  const more = event.problems.length - problems.length;
  return [
    `${event.keptHash} stays in force; the new version is invalid:`,
    ...problems,
    ...(more > 0 ? [`(${more} more problems)`] : []),
  ].join('\n');
}

/**
 * Records the reloads of one policy in an audit log. The watcher starts before the log is open (a bad
 * policy stops a start early): reloads until `recordTo` are kept and recorded then.
 */
export class PolicyReloadAudit {
  private audit: AuditLog | undefined;
  private waiting: OperatorActionEvent[] = [];
  private detached = false;

  constructor(
    private readonly policyPath: string,
    private readonly log: (line: string) => void,
  ) {}

  /** Told by the policy watcher about every reload attempt. */
  reloaded(event: ReloadEvent): void {
    const record = policyReloadEvent(this.policyPath, event);
    if (this.detached) this.log(`policy reload not recorded: the audit log is closing (${record.action})`);
    else if (this.audit === undefined) this.waiting.push(record);
    else this.append(this.audit, record);
  }

  /** Records in `audit` from now on; returns what stops it (before the log closes). */
  recordTo(audit: AuditLog): () => void {
    this.audit = audit;
    for (const record of this.waiting.splice(0)) this.append(audit, record);
    return () => {
      this.detached = true;
      this.audit = undefined;
    };
  }

  private append(audit: AuditLog, record: OperatorActionEvent): void {
    audit
      .append(record)
      .catch((error: unknown) =>
        this.log(
          `cannot record the policy reload (${record.action}) in the audit log: ${describeError(error)}`,
        ),
      );
  }
}
