/**
 * @module cli/gateway-process
 * Everything a serving gateway process runs, composed in one place for `reins gateway`, `reins serve`
 * and `reins mcp`: the watched policy, the audit log (and where its signed checkpoints are published),
 * who the callers are and the standing each call is checked against, the upstreams, human oversight on
 * the store (durable approvals, shared session control, overrides), the harness, the memory guard and
 * the gateway. Each part is registered for closing as soon as it has started, and one `close()` stops
 * them in reverse order (the outcome of every call under way is on record before the stores close):
 * a part that cannot start closes the ones before it, and every exit of a command closes the same way.
 * One composition, so that the commands cannot drift apart. What only some processes run loads when
 * one does (`reins mcp` starts for every conversation of a desktop client): the HTTP front and the
 * authenticator of remote agents, checkpoint publishers (and the OpenTelemetry exporter), tracing. And
 * before the upstreams start, only what must come first loads (the policy compiler, the identity store
 * of a caller checked first, the MCP client): the rest (the audit log and its keys, oversight, the
 * harness, the gateway, metrics) loads while they start (servingModules).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Authenticator } from '../auth/authenticator.js';
import type { CheckpointPublishConfig } from '../export/checkpoint-publisher.js';
import type { Gateway } from '../gateway/gateway.js';
import { ToolPins } from '../gateway/tool-pinning.js';
import { Upstream } from '../gateway/upstream.js';
import type { Harness } from '../harness/harness.js';
import { upstreamTextScreen } from '../harness/upstream-screen.js';
import { describeError } from '../spec/errors.js';
import type { GatewayConfig, TracesConfig, UpstreamConfig } from '../spec/gateway-config.js';
import type { OpsStatus } from '../spec/ops.js';
import type { StandingCheck } from '../spec/standing.js';
import type { AuditLog } from '../store/audit-log.js';
import type { ApprovalStore, CounterStore, IdentityStore } from '../store/state-stores.js';
import type { ReinsMetrics } from '../telemetry/metrics.js';
import type { OpsSources } from '../telemetry/ops-status.js';
import { type TraceExport, traceExportOf } from '../telemetry/trace-export.js';
import type { StoreOptions } from './audit-store.js';
import type { OversightWiring } from './oversight-wiring.js';
import { PolicyStatusTracker } from './policy-status.js';

/** What a gateway process serves, from a reins.yaml (`reins gateway`, `reins serve`) or flags (`reins mcp`). */
export interface GatewayPlan {
  readonly storeOptions: StoreOptions;
  /** The policy file or directory, watched and hot-reloaded. */
  readonly policy: string;
  /** Where signed checkpoints leave the database as they are signed (decision 0012). */
  readonly publish: CheckpointPublishConfig;
  readonly upstreams: readonly UpstreamConfig[];
  readonly callTimeoutMs: number;
  /** Calls of one session in flight to one upstream at once (default: gateway/upstream's). */
  readonly maxUpstreamCallsPerSession?: number;
  /** Where stdio upstreams run (reins.yaml's directory); default: the working directory. */
  readonly cwd?: string;
  readonly approvalTimeoutMs: number;
  /** Default 20 (harness/durable-approvals). */
  readonly maxPendingApprovalsPerAgent?: number;
  /** Told about every new approval request. */
  readonly approvalWebhook?: string;
  /** Told about every finding of the runtime monitor. */
  readonly monitorWebhook?: string;
  /** Tool definition pins; its directory is created if missing. */
  readonly lock: string;
  /** Where traces of every call are exported (telemetry/tracing); none: not traced. */
  readonly traces?: TraceExport;
}

/** Who calls the gateway, with the standing (suspensions, revocations) each call is checked against. */
export interface Callers {
  readonly standing: StandingCheck;
}

/** What opening the callers may use: the store, the log, and where to register what must be closed. */
export interface CallerOpening {
  readonly storeOptions: StoreOptions;
  readonly log: (line: string) => void;
  onClose(step: CloseStep): void;
}

/**
 * How a process knows its callers, opened at its place among the parts: before the upstreams start
 * and the audit log opens, so that a caller refused at the start creates nothing (`reins mcp`'s one
 * agent), or after the log, for an authenticator that records refused credentials in the log (`reins
 * gateway`, `reins serve`) and counts them in the metrics.
 */
export type CallerSource<C extends Callers> =
  | { readonly openBeforeAudit: (opening: CallerOpening) => Promise<C> }
  | {
      readonly openAfterAudit: (
        opening: CallerOpening & { readonly metrics: ReinsMetrics },
        audit: AuditLog,
      ) => Promise<C>;
    };

export type CloseStep = () => Promise<void> | void;

export interface GatewayProcess<C extends Callers> {
  readonly storeOptions: StoreOptions;
  readonly policy: PolicyStatusTracker;
  readonly audit: AuditLog;
  readonly callers: C;
  readonly oversight: OversightWiring;
  readonly upstreams: readonly Upstream[];
  readonly harness: Harness;
  readonly gateway: Gateway;
  /** Readiness, upstream health and metrics, as both listeners serve them (`/readyz`, `/metrics`). */
  readonly ops: OpsStatus;
  /** Runs `step` when the process closes (before the parts started earlier). */
  onClose(step: CloseStep): void;
  /** Stops every part, last started first; a step that fails is logged and the others still run. */
  close(): Promise<void>;
}

/** Starts every part; if one cannot start, what was started is closed again and the error thrown. */
export async function startGatewayProcess<C extends Callers>(
  plan: GatewayPlan,
  callerSource: CallerSource<C>,
  log: (line: string) => void,
): Promise<GatewayProcess<C>> {
  const steps: CloseStep[] = [];
  const onClose = (step: CloseStep) => {
    steps.push(step);
  };
  const close = async () => {
    for (let step = steps.pop(); step !== undefined; step = steps.pop()) {
      await Promise.resolve()
        .then(step)
        .catch((error: unknown) => log(`shutting down: ${describeError(error)}`));
    }
  };
  const opening: CallerOpening = { storeOptions: plan.storeOptions, log, onClose };
  let upstreamsStarting: Promise<Upstream[]> | undefined;
  const stopUpstreams = new AbortController();
  try {
    // first started, last closed: the spans of the calls ended while closing are exported too
    const tracing =
      plan.traces === undefined
        ? undefined
        : (await import('../telemetry/tracing.js')).startTracing(plan.traces);
    if (tracing !== undefined) {
      onClose(() => tracing.shutdown());
      log(`tracing every call to ${tracing.target}`);
    }
    const policy = new PolicyStatusTracker(plan.policy, log);
    onClose(() => policy.stop());
    const early = 'openBeforeAudit' in callerSource ? await callerSource.openBeforeAudit(opening) : undefined;
    // once the policy is loaded (and a stdio client's agent checked), the upstreams start while the
    // stores open: nothing reaches them before the gateway serves, and a failure below stops them
    upstreamsStarting = connectUpstreams(plan, policy, log, onClose, stopUpstreams.signal);
    upstreamsStarting.catch(() => {}); // awaited below, or before closing
    const modules = await servingModules();
    // one registry per process: every part below feeds it, both listeners serve it
    const metrics = new modules.ReinsMetrics();
    const audit = await openAudit(plan, log, onClose, metrics, modules.openWritableAuditLog);
    // reloads are chained with the calls they decide; recording stops before the log closes
    onClose(policy.reloads.recordTo(audit));
    const callers =
      early ?? (await (callerSource as OpenedAfterAudit<C>).openAfterAudit({ ...opening, metrics }, audit));
    const upstreams = await upstreamsStarting;
    // held calls become durable approval requests, decided from any process on the store
    const oversight = await modules.wireOversight(plan.storeOptions, {
      approvalTimeoutMs: plan.approvalTimeoutMs,
      ...(plan.maxPendingApprovalsPerAgent !== undefined
        ? { maxPendingPerAgent: plan.maxPendingApprovalsPerAgent }
        : {}),
      ...(plan.approvalWebhook ? { webhook: plan.approvalWebhook } : {}),
      log,
    });
    onClose(() => oversight.close());
    const monitor = modules.wireMonitor({
      storeOptions: plan.storeOptions,
      stores: oversight.stores,
      audit,
      policy: () => policy.current,
      metrics,
      webhook: plan.monitorWebhook,
      log,
    });
    onClose(() => monitor.close());
    const harness = new modules.Harness({
      policy,
      audit,
      sessions: oversight.sessions,
      // limits are counted in the store, so they hold across processes, replicas and restarts
      counters: oversight.stores.counters,
      approvals: oversight.approvals,
      heldCalls: oversight.heldCalls,
      overrides: oversight.overrides,
      approvalTimeoutMs: plan.approvalTimeoutMs,
      // every call, and every held call while it waits, checks its caller's standing as it is now
      standing: callers.standing,
      observer: metrics,
      baselines: monitor.baselines,
      onMonitorFindings: monitor.onFindings,
      ...(tracing !== undefined ? { tracer: tracing.tracer } : {}),
    });
    // runs after the front has closed (which aborts what its clients were waiting for) and before
    // the stores close: the outcome of every call under way is on record first
    onClose(() => harness.settled());
    onClose(sweepExpiredHeldCalls(harness, log));
    onClose(pruneCounters(oversight.stores.counters, policy, log));
    // the lock's place is the configuration's (or beside the store); its directory may be new
    mkdirSync(dirname(plan.lock), { recursive: true, mode: 0o700 });
    const pins = ToolPins.load(plan.lock);
    const memoryGuard = modules.memoryGuardOf(plan.storeOptions, onClose);
    const gateway = new modules.Gateway({ upstreams, harness, policy, pins, audit, memoryGuard });
    const { storeOptions } = plan;
    const ops = modules.createOpsStatus(
      opsStatusInput(metrics, policy, audit, oversight.stores.approvals, upstreams),
    );
    return {
      storeOptions,
      policy,
      audit,
      callers,
      oversight,
      upstreams,
      harness,
      gateway,
      ops,
      onClose,
      close,
    };
  } catch (error) {
    // the upstreams still connecting are stopped, not waited for (a silent one would hold the
    // failure for its request timeouts); this resolves once every one of them is closed
    stopUpstreams.abort();
    await upstreamsStarting?.catch(() => {});
    await close();
    throw error;
  }
}

/** How long readiness waits for the store's write lock before it says the store is not writable. */
const STORE_PROBE_TIMEOUT_MS = 1_000;

/**
 * What serving needs besides the policy, the callers opened first and the upstreams, imported once
 * those are under way: the main thread loads it while the upstreams' processes start. One after the
 * other, in the order the parts start.
 */
async function servingModules() {
  // prom-client (and, with tracing, the OpenTelemetry SDK) load when a gateway starts, not with every command
  const { ReinsMetrics } = await import('../telemetry/metrics.js');
  const { memoryGuardOf, openWritableAuditLog } = await import('./audit-store.js');
  const { wireOversight } = await import('./oversight-wiring.js');
  const { wireMonitor } = await import('./monitor-wiring.js');
  const { Harness } = await import('../harness/harness.js');
  const { Gateway } = await import('../gateway/gateway.js');
  const { createOpsStatus } = await import('../telemetry/ops-status.js');
  return {
    ReinsMetrics,
    memoryGuardOf,
    openWritableAuditLog,
    wireOversight,
    wireMonitor,
    Harness,
    Gateway,
    createOpsStatus,
  };
}

/** What the listeners serve about this process: its readiness checks and the sources of its gauges. */
function opsStatusInput(
  metrics: ReinsMetrics,
  policy: PolicyStatusTracker,
  audit: AuditLog,
  approvals: Pick<ApprovalStore, 'list'>,
  upstreams: readonly Upstream[],
): OpsSources {
  const health = () => upstreams.map((upstream) => upstream.health());
  metrics.setSources({
    auditQueueDepth: () => audit.pendingAppends?.() ?? 0,
    pendingApprovals: async () => {
      const now = Date.now();
      const pending = await approvals.list({ status: 'pending', limit: 1_000 });
      // an expired request still marked pending is not waiting for anyone any more
      return pending.filter((request) => Date.parse(request.expiresAt) > now).length;
    },
    upstreams: health,
  });
  return {
    metrics,
    // the tracker holds the last policy that compiled (a rejected reload keeps it in force, and says so)
    policy: () => policy.readiness(),
    storeWritable: () => audit.probeWritable?.(STORE_PROBE_TIMEOUT_MS) ?? Promise.resolve(),
    storeTimeoutMs: STORE_PROBE_TIMEOUT_MS,
    upstreams: health,
  };
}

/** Counter rows older than every window of the policy in force (and at least a day) are deleted now and then. */
const COUNTER_PRUNE_EVERY_MS = 10 * 60_000;
const DAY_MS = 24 * 60 * 60_000;

/**
 * Held calls whose approval request expired while no process was there to end them (it died, or the
 * agent never asked again) get their outcome: at start and every minute, by whichever process first.
 */
function sweepExpiredHeldCalls(harness: Harness, log: (line: string) => void): CloseStep {
  const sweep = () => {
    harness
      .endExpiredHeldCalls()
      .then((ended) => {
        if (ended > 0) log(`ended ${ended} held call(s) whose approval expired with nobody waiting`);
      })
      .catch((error: unknown) => log(`ending expired held calls: ${describeError(error)}`));
  };
  sweep();
  const timer = setInterval(sweep, HELD_CALL_SWEEP_MS);
  timer.unref();
  return () => clearInterval(timer);
}

const HELD_CALL_SWEEP_MS = 60_000;

function pruneCounters(
  counters: CounterStore,
  policy: PolicyStatusTracker,
  log: (line: string) => void,
): CloseStep {
  const prune = () => {
    const keep = Math.max(policy.current.longestLimitWindowMs, DAY_MS);
    counters
      .prune(Date.now() - keep)
      .catch((error: unknown) => log(`pruning limit counters: ${describeError(error)}`));
  };
  const timer = setInterval(prune, COUNTER_PRUNE_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}

type OpenedAfterAudit<C extends Callers> = Extract<CallerSource<C>, { openAfterAudit: unknown }>;

/** The log, signing checkpoints; the publisher closes after it, because the log's close signs the last one. */
async function openAudit(
  plan: GatewayPlan,
  log: (line: string) => void,
  onClose: (step: CloseStep) => void,
  metrics: ReinsMetrics,
  openWritableAuditLog: typeof import('./audit-store.js').openWritableAuditLog,
): Promise<AuditLog> {
  const publisher = await checkpointPublisherOf(plan.publish, log);
  if (publisher) onClose(() => publisher.close());
  const audit = await openWritableAuditLog(
    plan.storeOptions,
    {
      onCommit: (commit) => metrics.observeAuditCommit(commit),
      ...(publisher ? { onCheckpoint: (checkpoint) => publisher.publish(checkpoint) } : {}),
    },
    log,
  );
  onClose(() => audit.close());
  return audit;
}

/** The publisher of the plan's targets, loaded only when there is one; none: undefined. */
async function checkpointPublisherOf(publish: CheckpointPublishConfig, log: (line: string) => void) {
  // any target named loads the publisher, which says what each one is (and refuses a bad one)
  if (Object.values(publish).every((target) => target === undefined)) return undefined;
  const { CheckpointPublisher, checkpointTargets } = await import('../export/checkpoint-publisher.js');
  const targets = checkpointTargets(publish);
  return targets.length > 0 ? new CheckpointPublisher({ targets, log }) : undefined;
}

/**
 * Every upstream, connected one after the other; their text is screened by the policy in force.
 * `stop` (the start failed elsewhere) closes them all at once, the one connecting too, and what is
 * left is not started; the promise rejects once they are closed.
 */
async function connectUpstreams(
  plan: GatewayPlan,
  policy: PolicyStatusTracker,
  log: (line: string) => void,
  onClose: (step: CloseStep) => void,
  stop: AbortSignal,
): Promise<Upstream[]> {
  const upstreams = plan.upstreams.map(
    (config) =>
      new Upstream(config, {
        callTimeoutMs: plan.callTimeoutMs,
        ...(plan.maxUpstreamCallsPerSession !== undefined
          ? { callsPerSession: plan.maxUpstreamCallsPerSession }
          : {}),
        ...(plan.cwd !== undefined ? { cwd: plan.cwd } : {}),
        onEvent: (event) => log(`upstream \`${event.upstream}\` ${event.kind}: ${event.message}`),
        screen: upstreamTextScreen(policy, config.name),
      }),
  );
  let closing: Promise<unknown> | undefined;
  const closeAll = () => {
    closing = Promise.all(upstreams.map((upstream) => upstream.close()));
  };
  stop.addEventListener('abort', closeAll, { once: true });
  try {
    for (const upstream of upstreams) {
      await upstream.connect(); // rejects at once when closed meanwhile
      onClose(() => upstream.close());
    }
    return upstreams;
  } catch (error) {
    await closing;
    throw error;
  } finally {
    stop.removeEventListener('abort', closeAll);
  }
}

/** Remote agents, each request authenticated by its Reins credential. */
export interface CredentialCallers extends Callers {
  readonly identity: IdentityStore;
  readonly authenticator: Authenticator;
}

/** After the log: the authenticator records the credentials it refuses there. */
const credentialCallers: CallerSource<CredentialCallers> = {
  openAfterAudit: async ({ storeOptions, log, onClose, metrics }, audit) => {
    const { credentialKeysOf, openIdentityStore } = await import('./audit-store.js');
    const identity = await openIdentityStore(storeOptions);
    onClose(() => identity.close());
    // the first start of a deployment creates its default key directory; nothing else ever does.
    // Its signing key also issues the delegated credentials of `POST /v1/token` (gateway/token-exchange)
    const keys = credentialKeysOf(storeOptions, { log });
    const { Authenticator } = await import('../auth/authenticator.js');
    const authenticator = await Authenticator.open({
      store: identity,
      audit,
      keys,
      log,
      onRefused: (code) => metrics.credentialRejected(code),
    });
    onClose(() => authenticator.close());
    // held calls see suspensions and revocations too (requests are authenticated one by one)
    return { identity, authenticator, standing: authenticator.standing };
  },
};

export interface HttpGatewayProcess extends GatewayProcess<CredentialCallers> {
  /** Where MCP clients connect (Streamable HTTP). */
  readonly endpoint: string;
}

/** `reins gateway` and `reins serve`: the gateway of a reins.yaml, on its Streamable HTTP endpoint. */
export async function startHttpGatewayProcess(
  config: GatewayConfig,
  directory: string,
  log: (line: string) => void,
): Promise<HttpGatewayProcess> {
  const running = await startGatewayProcess(await httpGatewayPlan(config, directory), credentialCallers, log);
  try {
    const { HttpGateway } = await import('../gateway/http-server.js');
    const http = new HttpGateway({
      gateway: running.gateway,
      harness: running.harness,
      authenticator: running.callers.authenticator,
      host: config.listen.host,
      port: config.listen.port,
      path: config.listen.path,
      maxMessageBytes: config.limits.maxMessageBytes,
      maxSessions: config.limits.maxSessions,
      maxSessionsPerAgent: config.limits.maxSessionsPerAgent,
      sessionIdleTimeoutMs: config.limits.sessionIdleTimeout,
      log,
      ops: running.ops,
    });
    const endpoint = await http.listen();
    running.onClose(() => http.close());
    return { ...running, endpoint };
  } catch (error) {
    await running.close();
    throw error;
  }
}

/**
 * The same gateway process inside an application, without a listener (the adapters' in-process mode,
 * cli/in-process): the harness, its stores and the authenticator of a reins.yaml.
 */
export async function startInProcessGateway(
  config: GatewayConfig,
  directory: string,
  log: (line: string) => void,
): Promise<GatewayProcess<CredentialCallers>> {
  return startGatewayProcess(await httpGatewayPlan(config, directory), credentialCallers, log);
}

async function httpGatewayPlan(config: GatewayConfig, directory: string): Promise<GatewayPlan> {
  const { storeOptionsOfConfig } = await import('./audit-store.js');
  return {
    storeOptions: storeOptionsOfConfig(config, directory),
    policy: config.policy,
    publish: config.audit.checkpoints.publish,
    upstreams: config.upstreams,
    callTimeoutMs: config.limits.callTimeout,
    maxUpstreamCallsPerSession: config.limits.maxUpstreamCallsPerSession,
    cwd: directory,
    approvalTimeoutMs: config.limits.approvalTimeout,
    maxPendingApprovalsPerAgent: config.limits.maxPendingApprovalsPerAgent,
    ...(config.approvals.webhook ? { approvalWebhook: config.approvals.webhook } : {}),
    ...(config.monitor.webhook ? { monitorWebhook: config.monitor.webhook } : {}),
    lock: config.lock,
    ...traceExportIn(config.telemetry.traces),
  };
}

/** The plan's traces: the configuration's, else the standard OTEL_EXPORTER_OTLP_* environment. */
export function traceExportIn(config: TracesConfig | undefined): { traces?: TraceExport } {
  const traces = traceExportOf(config, process.env);
  return traces === undefined ? {} : { traces };
}
