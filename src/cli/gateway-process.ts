/**
 * @module cli/gateway-process
 * Everything a serving gateway process runs, started in one place for `reins gateway` and
 * `reins serve`: the watched policy, the audit log, the identity store and authenticator, the
 * upstreams, human oversight on the store (durable approvals, shared session control, overrides), the
 * memory guard, the harness and the Streamable HTTP endpoint. Closing stops them in reverse order
 * (pending audit records are flushed). One composition, so that the two commands cannot drift apart.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Authenticator } from '../auth/authenticator.js';
import { CheckpointPublisher, checkpointTargets } from '../export/checkpoint-publisher.js';
import { Gateway } from '../gateway/gateway.js';
import { HttpGateway } from '../gateway/http-server.js';
import { ToolPins } from '../gateway/tool-pinning.js';
import { Upstream } from '../gateway/upstream.js';
import { Harness } from '../harness/harness.js';
import { upstreamTextScreen } from '../harness/upstream-screen.js';
import { describeError } from '../spec/errors.js';
import type { GatewayConfig } from '../spec/gateway-config.js';
import type { AuditLog } from '../store/audit-log.js';
import type { IdentityStore } from '../store/state-stores.js';
import {
  credentialKeysOf,
  memoryGuardOf,
  openIdentityStore,
  openWritableAuditLog,
  type StoreOptions,
  storeOptionsOfConfig,
} from './audit-store.js';
import { type OversightWiring, wireOversight } from './oversight-wiring.js';
import { PolicyStatusTracker } from './policy-status.js';

export interface GatewayProcess {
  readonly storeOptions: StoreOptions;
  readonly policy: PolicyStatusTracker;
  readonly audit: AuditLog;
  readonly identity: IdentityStore;
  readonly authenticator: Authenticator;
  readonly oversight: OversightWiring;
  readonly upstreams: readonly Upstream[];
  /** Where MCP clients connect. */
  readonly endpoint: string;
  /** Runs `step` when the process closes (before the parts started here). */
  onClose(step: () => Promise<void> | void): void;
  close(): Promise<void>;
}

/** Starts every part; if one cannot start, what was started is closed again and the error thrown. */
export async function startGatewayProcess(
  config: GatewayConfig,
  directory: string,
  log: (line: string) => void,
): Promise<GatewayProcess> {
  const storeOptions = storeOptionsOfConfig(config, directory);
  const cleanup: (() => Promise<void> | void)[] = [];
  const close = async () => {
    for (const step of cleanup.reverse()) {
      await Promise.resolve(step()).catch((error: unknown) => log(`shutting down: ${describeError(error)}`));
    }
    cleanup.length = 0;
  };
  try {
    const policy = new PolicyStatusTracker(config.policy, log);
    cleanup.push(() => policy.stop());
    // checkpoints leave the database as they are signed (decision 0012); closed after the log, whose
    // close signs the last one
    const targets = checkpointTargets(config.audit.checkpoints.publish);
    const publisher = targets.length > 0 ? new CheckpointPublisher({ targets, log }) : undefined;
    if (publisher) cleanup.push(() => publisher.close());
    const audit: AuditLog = await openWritableAuditLog(
      storeOptions,
      {
        checkpointEvery: config.audit.checkpoints.every,
        ...(publisher ? { onCheckpoint: (checkpoint) => publisher.publish(checkpoint) } : {}),
      },
      log,
    );
    cleanup.push(() => audit.close());
    // reloads are chained with the calls they decide; recording stops before the log closes
    cleanup.push(policy.reloads.recordTo(audit));
    const identity = await openIdentityStore(storeOptions);
    cleanup.push(() => identity.close());
    // the first start of a deployment creates its default key directory; nothing else ever does
    const keys = credentialKeysOf(storeOptions, { log });
    const authenticator = await Authenticator.open({ store: identity, audit, keys, log });
    cleanup.push(() => authenticator.close());
    const upstreams = config.upstreams.map(
      (upstreamConfig) =>
        new Upstream(upstreamConfig, {
          callTimeoutMs: config.limits.callTimeout,
          cwd: directory,
          onEvent: (event) => log(`upstream \`${event.upstream}\` ${event.kind}: ${event.message}`),
          screen: upstreamTextScreen(policy, upstreamConfig.name),
        }),
    );
    for (const upstream of upstreams) {
      await upstream.connect();
      cleanup.push(() => upstream.close());
    }
    // held calls become durable approval requests, decided from any process on the store
    const oversight = await wireOversight(storeOptions, {
      approvalTimeoutMs: config.limits.approvalTimeout,
      maxPendingPerAgent: config.limits.maxPendingApprovalsPerAgent,
      ...(config.approvals.webhook ? { webhook: config.approvals.webhook } : {}),
      log,
    });
    cleanup.push(() => oversight.close());
    const harness = new Harness({
      policy,
      audit,
      sessions: oversight.sessions,
      approvals: oversight.approvals,
      overrides: oversight.overrides,
      approvalTimeoutMs: config.limits.approvalTimeout,
      // held calls see suspensions and revocations too (requests are authenticated one by one)
      standing: authenticator.standing,
    });
    // runs after the endpoint has closed (which aborts what its clients were waiting for) and before
    // the stores close: the outcome of every call under way is on record first
    cleanup.push(() => harness.settled());
    // the lock's place is the configuration's (relative to reins.yaml); its directory may be new
    mkdirSync(dirname(config.lock), { recursive: true, mode: 0o700 });
    const pins = ToolPins.load(config.lock);
    const memoryGuard = memoryGuardOf(storeOptions, (closeIndex) => cleanup.push(closeIndex));
    const gateway = new Gateway({ upstreams, harness, policy, pins, audit, memoryGuard });
    const http = new HttpGateway({
      gateway,
      authenticator,
      host: config.listen.host,
      port: config.listen.port,
      path: config.listen.path,
      maxMessageBytes: config.limits.maxMessageBytes,
      maxSessions: config.limits.maxSessions,
      maxSessionsPerAgent: config.limits.maxSessionsPerAgent,
      sessionIdleTimeoutMs: config.limits.sessionIdleTimeout,
      log,
    });
    const endpoint = await http.listen();
    cleanup.push(() => http.close());
    return {
      storeOptions,
      policy,
      audit,
      identity,
      authenticator,
      oversight,
      upstreams,
      endpoint,
      onClose: (step) => cleanup.push(step),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
