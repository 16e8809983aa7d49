/**
 * @module oversight/monitor-response
 * What happens outside the decision when the runtime monitor raises findings (decision 0027): a
 * `pause` pauses the session and a `suspend` suspends the agent (kill switch) through oversight, as the
 * operator `reins:monitor`, so that both are on record as `operator-action` events naming the rule and
 * the call, show in the console and are lifted the usual way; every finding is counted and, when a
 * webhook is configured, posted. The decision itself already held or denied the call, and the stop is
 * in the log for every process: what is done here makes it visible and reaches the agent's other
 * sessions. Failures are reported to `log` and never retried into a loop.
 */
import { describeError } from '../spec/errors.js';
import type { MonitorEvent, MonitorFinding, MonitorListener } from '../spec/monitor.js';
import type { Actor } from '../spec/oversight.js';
import type { Oversight } from './oversight.js';

/** The operator the monitor acts as; `admin` because suspending an agent needs it. */
export const MONITOR_ACTOR: Actor = { id: 'reins:monitor', roles: ['admin'] };

export interface MonitorResponseOptions {
  /**
   * Oversight on the shared stores; opened when first needed (most findings are alerts). None (a
   * replay into a log in memory): a pause or suspension is only logged; the stop is in the log.
   */
  readonly oversight?: () => Promise<Pick<Oversight, 'setSessionStatus' | 'suspendAgent' | 'getSession'>>;
  /** Told about every finding (the `reins_monitor_findings_total` metric). */
  readonly count?: (finding: MonitorFinding) => void;
  /** Posts the event (the configured webhook); a failure is logged. */
  readonly post?: (event: MonitorEvent) => Promise<void>;
  readonly log: (line: string) => void;
}

export function monitorResponder(options: MonitorResponseOptions): MonitorListener {
  return async (event) => {
    for (const finding of event.findings) {
      options.count?.(finding);
      options.log(
        `monitor: ${finding.action} by rule ${finding.rule} at call ${event.decisionId} (session ${event.sessionId}): ${finding.message}`,
      );
    }
    const actions = new Set(event.findings.map((finding) => finding.action));
    const posting = options
      .post?.(event)
      .catch((error: unknown) =>
        options.log(
          `monitor: the webhook did not take call ${event.decisionId}'s findings: ${describeError(error)}`,
        ),
      );
    if (options.oversight !== undefined && (actions.has('suspend') || actions.has('pause')))
      await act(options.oversight, options.log, event, actions.has('suspend'));
    await posting;
  };
}

async function act(
  open: NonNullable<MonitorResponseOptions['oversight']>,
  log: (line: string) => void,
  event: MonitorEvent,
  suspend: boolean,
): Promise<void> {
  const finding = event.findings.find(
    (each) => each.action === (suspend ? 'suspend' : 'pause'),
  ) as MonitorFinding;
  const reason = `monitor rule ${finding.rule} at call ${event.decisionId}: ${finding.message}`;
  try {
    const oversight = await open();
    // a suspension that fails still lets the session be paused
    if (suspend)
      await oversight.suspendAgent(event.agentId, MONITOR_ACTOR, reason).catch((error: unknown) => {
        log(
          `monitor: could not suspend agent ${event.agentId} (its session is paused): ${describeError(error)}`,
        );
      });
    const session = await oversight.getSession(event.sessionId);
    // a session already paused or killed stays as it is (its kill is final)
    if (session === undefined || session.status === 'active')
      await oversight.setSessionStatus(event.sessionId, 'paused', MONITOR_ACTOR, reason);
  } catch (error) {
    log(
      `monitor: could not pause session ${event.sessionId} (it stays stopped by the log): ${describeError(error)}`,
    );
  }
}

/** Posts each event to `url` as JSON (`type: monitor.finding`); 5 s per attempt, no retries. */
export function monitorWebhook(url: string): (event: MonitorEvent) => Promise<void> {
  return async (event) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'monitor.finding', ...event }),
      signal: AbortSignal.timeout(5_000),
    });
    await response.body?.cancel();
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
  };
}
