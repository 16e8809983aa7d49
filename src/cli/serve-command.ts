/**
 * @module cli/serve-command
 * `reins serve --config reins.yaml`: the MCP gateway, the control-plane API and the web console in
 * one process, on the embedded SQLite store by default (or PostgreSQL). The gateway listens where
 * `listen:` says, the control plane where `control.listen:` says (a separate port, so that it can be
 * bound to an internal interface while agents reach the gateway). Human actions go through the
 * oversight service on the shared store, so they reach every process serving it. Rollbacks asked for
 * on the control plane run through this process's gateway: its upstreams, its harness, the policy in
 * force and the store's leases (one rollback of a session at a time, across processes).
 */
import { createControlApi } from '../api/control-api.js';
import { listenControlApi } from '../api/control-server.js';
import { StoreOversight } from '../oversight/store-oversight.js';
import { rollbackService } from '../rollback/rollback-service.js';
import { describeStore, verificationKey } from './audit-store.js';
import { scheduleCompliance } from './compliance-schedule.js';
import { loadConfigOrThrow } from './deployment.js';
import { runServing } from './gateway-command.js';
import { startHttpGatewayProcess } from './gateway-process.js';
import type { CliIo } from './io.js';
import { oidcSettings } from './oidc-settings.js';
import { cachedPosture } from './posture-cache.js';
import { postureOfStores } from './posture-command.js';
import { openUserStore } from './user-commands.js';

export interface RunningServe {
  /** Where MCP clients connect (Streamable HTTP). */
  readonly gatewayUrl: string;
  /** Where the console and `/v1` are. */
  readonly controlUrl: string;
  /** Stops listening, closes upstreams and stores (pending audit records are flushed). */
  close(): Promise<void>;
}

/** Starts everything `reins serve` runs; throws (after cleaning up) if any part cannot start. */
export async function startServe(configPath: string, log: (line: string) => void): Promise<RunningServe> {
  const { config, directory } = loadConfigOrThrow(configPath);
  const gateway = await startHttpGatewayProcess(config, directory, log);
  try {
    const users = await openUserStore(gateway.storeOptions);
    gateway.onClose(() => users.close());
    const oversight = new StoreOversight({
      approvals: gateway.oversight.stores.approvals,
      sessions: gateway.oversight.stores.sessions,
      identities: gateway.callers.identity,
      audit: gateway.audit,
    });
    const publicKey = verificationKey(gateway.storeOptions);
    const every = config.compliance?.every;
    const compliance = every === undefined ? undefined : scheduleCompliance(config, gateway, every, log);
    if (compliance) gateway.onClose(compliance.stop);
    const api = createControlApi({
      oversight,
      audit: gateway.audit,
      users,
      identity: gateway.callers.identity,
      authenticator: gateway.callers.authenticator,
      policy: gateway.policy,
      rollback: rollbackService({
        audit: gateway.audit,
        policy: () => gateway.policy.current,
        counters: gateway.oversight.stores.counters,
        runner: gateway.gateway,
      }),
      ...(publicKey ? { publicKey } : {}),
      ...(config.control.oidc ? { oidc: oidcSettings(config.control.oidc, directory) } : {}),
      sessionTtlMs: config.control.sessionTtl,
      secureCookies: config.control.secureCookies,
      maxBodyBytes: config.limits.maxMessageBytes,
      log,
      // the same readiness and metrics as on the gateway's listener
      ops: gateway.ops,
      ...(compliance ? { compliance: compliance.last } : {}),
      // the posture score (`GET /v1/posture`): this configuration, the policy in force, the agents and
      // the log of the stores this process serves; computed at most once a minute (cli/posture-cache)
      posture: cachedPosture((agentId) =>
        postureOfStores(
          configPath,
          config,
          {
            audit: gateway.audit,
            identity: gateway.callers.identity,
            where: describeStore(gateway.storeOptions),
          },
          {
            ...(agentId !== undefined ? { agentId } : {}),
            ...(publicKey ? { publicKey } : {}),
            inForceHash: gateway.policy.current.hash,
          },
        ),
      ),
    });
    const control = await listenControlApi(api, config.control.listen);
    gateway.onClose(() => control.close());
    return { gatewayUrl: gateway.endpoint, controlUrl: control.url, close: () => gateway.close() };
  } catch (error) {
    await gateway.close();
    throw error;
  }
}

export function runServe(options: { config: string }, io: CliIo, stop?: AbortSignal): Promise<number> {
  return runServing(
    'serve',
    (log) => startServe(options.config, log),
    (running) => [
      `reins serve: MCP gateway on ${running.gatewayUrl}`,
      `reins serve: console and API on ${running.controlUrl}/ (OpenAPI: ${running.controlUrl}/v1/openapi.json)`,
    ],
    io,
    stop,
  );
}
