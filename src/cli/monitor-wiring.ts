/**
 * @module cli/monitor-wiring
 * The runtime monitor of a serving process (decision 0027): the agents' baselines learned from the
 * audit log (inspect/monitor-baselines, relearned as the hour or the policy changes, in the
 * background: until the first learning ends only `above` bounds apply), and what is done once findings
 * are on record (oversight/monitor-response): counted in `reins_monitor_findings_total`, posted to
 * `monitor.webhook`, a pause or suspension carried out through oversight as `reins:monitor`.
 */
import { LoggedBaselines } from '../inspect/monitor-baselines.js';
import { monitorResponder, monitorWebhook } from '../oversight/monitor-response.js';
import { StoreOversight } from '../oversight/store-oversight.js';
import type { PreparedPolicy } from '../policy/prepared-policy.js';
import { describeError } from '../spec/errors.js';
import type { MonitorListener } from '../spec/monitor.js';
import type { AuditLog } from '../store/audit-log.js';
import type { IdentityStore } from '../store/state-stores.js';
import type { ReinsMetrics } from '../telemetry/metrics.js';
import { type OversightStores, openIdentityStore, type StoreOptions } from './audit-store.js';

export interface MonitorWiring {
  readonly baselines: LoggedBaselines;
  readonly onFindings: MonitorListener;
  close(): Promise<void>;
}

export function wireMonitor(options: {
  readonly storeOptions: StoreOptions;
  readonly stores: OversightStores;
  readonly audit: AuditLog;
  readonly policy: () => PreparedPolicy;
  readonly metrics: ReinsMetrics;
  readonly webhook?: string | undefined;
  readonly log: (line: string) => void;
}): MonitorWiring {
  const { log } = options;
  const baselines = new LoggedBaselines({
    audit: options.audit,
    policy: options.policy,
    onError: (error) =>
      log(`monitor: the baselines could not be learned (the last ones stay): ${describeError(error)}`),
  });
  baselines.start().catch((error: unknown) => log(`monitor: ${describeError(error)}`));
  // most findings are alerts: the identity store (for suspending an agent) opens when first needed
  let identities: Promise<IdentityStore> | undefined;
  let oversight: Promise<StoreOversight> | undefined;
  const openOversight = () => {
    oversight ??= (async () => {
      identities ??= openIdentityStore(options.storeOptions);
      return new StoreOversight({
        approvals: options.stores.approvals,
        sessions: options.stores.sessions,
        identities: await identities,
        audit: options.audit,
      });
    })();
    return oversight;
  };
  const onFindings = monitorResponder({
    oversight: openOversight,
    count: (finding) => options.metrics.monitorFinding(finding.rule, finding.action),
    ...(options.webhook !== undefined ? { post: monitorWebhook(options.webhook) } : {}),
    log,
  });
  return {
    baselines,
    onFindings,
    close: async () => {
      baselines.stop();
      if (identities !== undefined) await (await identities).close();
    },
  };
}
