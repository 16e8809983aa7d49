/**
 * @module cli/compliance-schedule
 * The scheduled compliance scan of `reins serve` (`compliance.every` of reins.yaml): once at start and
 * then on the timer, on the process's own stores and the policy in force. Each scan's result is logged
 * (one line naming every finding's code and subject) and kept as the last report, which
 * `GET /v1/compliance` serves. A scan that fails is logged and recorded (`lastError`, `lastAttemptAt`):
 * the route then serves the previous report marked stale, never as if it were current. Scans never
 * overlap. The chain is not walked here (a full verification reads the log on the serving thread):
 * the report's `audit chain` check says it was skipped and where to run it.
 */
import type { ComplianceReport, ComplianceScanState } from '../spec/compliance.js';
import { describeError } from '../spec/errors.js';
import type { GatewayConfig } from '../spec/gateway-config.js';
import { runDeploymentScan } from './compliance-command.js';
import type { CloseStep, CredentialCallers, GatewayProcess } from './gateway-process.js';

/** Why the scheduled scan leaves the chain alone, as its report's `audit chain` check says. */
export const SKIPPED_CHAIN =
  'not verified by the scheduled scan (it would read the whole log on the serving thread): run `reins compliance scan` or `reins audit verify`';

export interface ComplianceSchedule {
  /** The last report that succeeded, and how the last attempt went. */
  last(): ComplianceScanState;
  /** Runs a scan now (the timer's scans too); resolves when it has finished (or was already running). */
  runNow(): Promise<void>;
  readonly stop: CloseStep;
}

export function scheduleCompliance(
  config: GatewayConfig,
  gateway: GatewayProcess<CredentialCallers>,
  everyMs: number,
  log: (line: string) => void,
): ComplianceSchedule {
  let last: ComplianceReport | undefined;
  let lastAttemptAt: string | undefined;
  let lastError: string | undefined;
  let running: Promise<void> | undefined;
  const scan = async () => {
    lastAttemptAt = new Date().toISOString();
    const report = await runDeploymentScan(
      {
        storeOptions: gateway.storeOptions,
        lock: config.lock,
        publish: config.audit.checkpoints.publish,
        ...(config.compliance !== undefined ? { compliance: config.compliance } : {}),
        skipChain: SKIPPED_CHAIN,
      },
      { audit: gateway.audit, identity: gateway.callers.identity, policy: gateway.policy.current },
      Date.now(),
    );
    last = report;
    lastError = undefined;
    const listed = report.findings.map((finding) => `${finding.code} ${finding.subject}`).join(', ');
    log(
      `compliance scan: ${report.findings.length} finding(s)${listed ? `: ${listed}` : ''} (GET /v1/compliance)`,
    );
  };
  const runNow = () => {
    running ??= scan()
      .catch((error: unknown) => {
        lastError = describeError(error);
        log(`compliance scan failed: ${lastError}`);
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  void runNow();
  const timer = setInterval(() => void runNow(), everyMs);
  timer.unref();
  return {
    last: () => ({ report: last, lastAttemptAt, lastError, everyMs }),
    runNow,
    stop: async () => {
      clearInterval(timer);
      // the stores close after this: a scan under way finishes first
      await running;
    },
  };
}
