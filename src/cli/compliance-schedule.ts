/**
 * @module cli/compliance-schedule
 * The scheduled compliance scan of `reins serve` (`compliance.every` of reins.yaml): once at start and
 * then on the timer, on the process's own stores and the policy in force. Each scan's result is logged
 * (one line naming every finding's code and subject) and kept as the last report, which
 * `GET /v1/compliance` serves. A scan that fails is logged and keeps the previous report; scans never
 * overlap.
 */
import type { ComplianceReport } from '../spec/compliance.js';
import { describeError } from '../spec/errors.js';
import type { GatewayConfig } from '../spec/gateway-config.js';
import { runDeploymentScan } from './compliance-command.js';
import type { CloseStep, CredentialCallers, GatewayProcess } from './gateway-process.js';

export interface ComplianceSchedule {
  /** The last report, once a scan has finished. */
  last(): ComplianceReport | undefined;
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
  let running: Promise<void> | undefined;
  const scan = async () => {
    const report = await runDeploymentScan(
      {
        storeOptions: gateway.storeOptions,
        lock: config.lock,
        publish: config.audit.checkpoints.publish,
        ...(config.compliance !== undefined ? { compliance: config.compliance } : {}),
      },
      { audit: gateway.audit, identity: gateway.callers.identity, policy: gateway.policy.current },
      Date.now(),
    );
    last = report;
    const listed = report.findings.map((finding) => `${finding.code} ${finding.subject}`).join(', ');
    log(
      `compliance scan: ${report.findings.length} finding(s)${listed ? `: ${listed}` : ''} (GET /v1/compliance)`,
    );
  };
  const runNow = () => {
    running ??= scan()
      .catch((error: unknown) => log(`compliance scan failed: ${describeError(error)}`))
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  void runNow();
  const timer = setInterval(() => void runNow(), everyMs);
  timer.unref();
  return {
    last: () => last,
    runNow,
    stop: async () => {
      clearInterval(timer);
      // the stores close after this: a scan under way finishes first
      await running;
    },
  };
}
