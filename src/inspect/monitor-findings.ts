/**
 * @module inspect/monitor-findings
 * The runtime monitor's findings read back from the audit log (issue 19, decision 0027): each finding is
 * recorded on the call-intent of the call that raised it (`monitor`), so the recent ones are found by
 * reading call intents newest first — an indexed kind — and keeping those that carry findings. The read
 * is bounded (at most `maxIntents` intents) and says where it stopped, so a quiet monitor on a long log
 * answers quickly and never claims to have seen what it did not read. Also the one-line wording of a
 * finding shared by the terminal and the session timeline.
 */
import { formatWindow } from '../policy/monitor.js';
import type { CallIntentEvent } from '../spec/audit-event.js';
import type { MonitorFinding } from '../spec/monitor.js';
import type { AuditLog } from '../store/audit-log.js';

/** One finding with the call that raised it. */
export interface RecordedFinding {
  /** The sequence number of the call's intent record. */
  readonly seq: number;
  readonly time: string;
  readonly decisionId: string;
  readonly sessionId: string;
  readonly agentId: string;
  /** `server/name`. */
  readonly tool: string;
  /** The call's effect as decided, the monitor's action included. */
  readonly effect: CallIntentEvent['decision']['effect'];
  readonly finding: MonitorFinding;
}

export interface FindingsScan {
  /** Call intents read, newest first. */
  readonly intents: number;
  /** The bound on `intents` this read had. */
  readonly maxIntents: number;
  /**
   * Why the read stopped: it reached the oldest intent (`end-of-log`: every finding is listed, up to
   * `limit`), read `maxIntents` intents (`scan-bound`: older findings may exist), or listed `limit`
   * findings (`finding-limit`).
   */
  readonly stopped: 'end-of-log' | 'scan-bound' | 'finding-limit';
}

export interface FindingsOptions {
  /** Most findings returned. */
  readonly limit: number;
  /** Most call intents read. */
  readonly maxIntents: number;
  readonly agentId?: string;
}

/** Intents read per query: small enough to stop soon after the limit, large enough to page little. */
const PAGE = 1_000;

/** The most recent findings of the log, newest first (within one call, in recorded order). */
export async function recentMonitorFindings(
  log: AuditLog,
  options: FindingsOptions,
): Promise<{ findings: RecordedFinding[]; scan: FindingsScan }> {
  const findings: RecordedFinding[] = [];
  let intents = 0;
  let beforeSeq: number | undefined;
  const scan = (stopped: FindingsScan['stopped']) => ({
    findings,
    scan: { intents, maxIntents: options.maxIntents, stopped },
  });
  for (;;) {
    const requested = Math.min(PAGE, options.maxIntents - intents);
    const page = await log.query({
      kind: 'call-intent',
      order: 'desc',
      limit: requested,
      ...(options.agentId !== undefined ? { agentId: options.agentId } : {}),
      ...(beforeSeq !== undefined ? { beforeSeq } : {}),
    });
    for (const record of page) {
      intents++;
      const event = record.event as CallIntentEvent;
      for (const finding of event.monitor ?? []) {
        if (findings.length === options.limit) return scan('finding-limit');
        findings.push(findingOf(record.seq, event, finding));
      }
    }
    if (page.length < requested) return scan('end-of-log');
    if (intents >= options.maxIntents) return scan('scan-bound');
    beforeSeq = page[page.length - 1]?.seq;
  }
}

function findingOf(seq: number, event: CallIntentEvent, finding: MonitorFinding): RecordedFinding {
  return {
    seq,
    time: event.time,
    decisionId: event.decisionId,
    sessionId: event.sessionId,
    agentId: event.principal.agentId,
    tool: `${event.tool.server}/${event.tool.name}`,
    effect: event.decision.effect,
    finding,
  };
}

/**
 * What a finding observed against what bound, in one line: `mass-mailing (rate, pause): 3 in 5m, above
 * 2; no baseline yet (the rule’s floor applied); 3 calls counted`. A one-call signal (new tool, rare
 * transition, off hours) compares the baseline's value with the bound instead. For terminals; the
 * console lays the same fields out itself.
 */
export function describeFinding(finding: MonitorFinding): string {
  const { baseline } = finding;
  const windowed = finding.windowMs !== undefined;
  const bound = windowed
    ? `${finding.observed} in ${formatWindow(finding.windowMs ?? 0)}, above ${finding.threshold}`
    : finding.signal === 'new-tool'
      ? 'never called in the baseline'
      : `${baseline?.value ?? 0} in the baseline, below ${finding.threshold}`;
  // a windowed baseline's words hold its value (`busiest 1m of any session: 4 calls`), a one-call one's do not
  const words =
    baseline === undefined ? '' : windowed ? baseline.describes : `${baseline.describes} ${baseline.value}`;
  const against =
    baseline === undefined
      ? 'no baseline yet (the rule’s floor applied)'
      : `baseline ${baseline.from} to ${baseline.to} (${baseline.calls} calls): ${words}`;
  const n = finding.records.length;
  const counted = n > 0 ? `; ${n} call${n === 1 ? '' : 's'} counted` : '';
  return `${finding.rule} (${finding.signal}, ${finding.action}): ${bound}; ${against}${counted}`;
}
