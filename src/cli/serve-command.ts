/**
 * @module cli/serve-command
 * `reins serve --config reins.yaml`: the MCP gateway, the control-plane API and the web console in
 * one process, on the embedded SQLite store by default (or PostgreSQL). The gateway listens where
 * `listen:` says, the control plane where `control.listen:` says (a separate port, so that it can be
 * bound to an internal interface while agents reach the gateway). Held calls wait for humans in the
 * oversight service; pausing or killing a session and suspending an agent take effect on the next call.
 */
import { createControlApi } from '../api/control-api.js';
import { type ControlServer, listenControlApi } from '../api/control-server.js';
import { Authenticator } from '../auth/authenticator.js';
import { Gateway } from '../gateway/gateway.js';
import { HttpGateway } from '../gateway/http-server.js';
import { ToolPins } from '../gateway/tool-pinning.js';
import { Upstream } from '../gateway/upstream.js';
import { Harness } from '../harness/harness.js';
import { loadGatewayConfig } from '../loader/gateway-config-file.js';
import { StoreOversight } from '../oversight/store-oversight.js';
import { formatProblem } from '../policy/policy-problem.js';
import { describeError, ReinsError } from '../spec/errors.js';
import type { AuditLog } from '../store/audit-log.js';
import { openIdentityStore, openWritableAuditLog, verificationKey } from './audit-store.js';
import { type CliIo, EXIT_ERROR, EXIT_OK } from './io.js';
import { wireOversight } from './oversight-wiring.js';
import { PolicyStatusTracker } from './policy-status.js';
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
  const loaded = loadGatewayConfig(configPath);
  if (!loaded.ok) {
    throw new ReinsError('invalid_input', loaded.problems.map(formatProblem).join('\n'));
  }
  const { config, directory } = loaded;
  const storeOptions = {
    db: config.store.sqlite,
    ...(config.store.databaseUrl ? { databaseUrl: config.store.databaseUrl } : {}),
  };
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
    const audit: AuditLog = await openWritableAuditLog(storeOptions);
    cleanup.push(() => audit.close());
    const identity = await openIdentityStore(storeOptions);
    cleanup.push(() => identity.close());
    const authenticator = await Authenticator.open({ store: identity, audit });
    cleanup.push(() => authenticator.close());
    const users = await openUserStore(storeOptions);
    cleanup.push(() => users.close());

    const upstreams = config.upstreams.map(
      (upstreamConfig) =>
        new Upstream(upstreamConfig, {
          callTimeoutMs: config.limits.callTimeout,
          cwd: directory,
          onEvent: (event) => log(`upstream \`${event.upstream}\` ${event.kind}: ${event.message}`),
        }),
    );
    for (const upstream of upstreams) {
      await upstream.connect();
      cleanup.push(() => upstream.close());
    }

    // held calls become durable approval requests, decided from any process on the store
    const wiring = await wireOversight(storeOptions, {
      approvalTimeoutMs: config.limits.approvalTimeout,
      ...(config.approvals.webhook ? { webhook: config.approvals.webhook } : {}),
      log,
    });
    cleanup.push(() => wiring.close());
    const oversight = new StoreOversight({
      approvals: wiring.stores.approvals,
      sessions: wiring.stores.sessions,
      identities: identity,
      audit,
    });
    const harness = new Harness({
      policy,
      audit,
      sessions: wiring.sessions,
      approvals: wiring.approvals,
      overrides: wiring.overrides,
      approvalTimeoutMs: config.limits.approvalTimeout,
    });
    const gateway = new Gateway({ upstreams, harness, policy, pins: ToolPins.load(config.lock), audit });
    const http = new HttpGateway({
      gateway,
      authenticator,
      host: config.listen.host,
      port: config.listen.port,
      path: config.listen.path,
      maxMessageBytes: config.limits.maxMessageBytes,
      log,
    });
    const gatewayUrl = await http.listen();
    cleanup.push(() => http.close());

    const publicKey = verificationKey(storeOptions);
    const api = createControlApi({
      oversight,
      audit,
      users,
      identity,
      authenticator,
      policy,
      ...(publicKey ? { publicKey } : {}),
      sessionTtlMs: config.control.sessionTtl,
      secureCookies: config.control.secureCookies,
      maxBodyBytes: config.limits.maxMessageBytes,
      log,
    });
    const control: ControlServer = await listenControlApi(api, config.control.listen);
    cleanup.push(() => control.close());
    return { gatewayUrl, controlUrl: control.url, close };
  } catch (error) {
    await close();
    throw error;
  }
}

export async function runServe(options: { config: string }, io: CliIo, stop?: AbortSignal): Promise<number> {
  const log = (line: string) => io.err(`reins serve: ${line}`);
  let running: RunningServe;
  try {
    running = await startServe(options.config, log);
  } catch (error) {
    // a configuration problem is several lines (file:line:column each); anything else one
    io.err(`reins serve: ${error instanceof ReinsError ? error.message : describeError(error)}`);
    return EXIT_ERROR;
  }
  io.out(`reins serve: MCP gateway on ${running.gatewayUrl}`);
  io.out(
    `reins serve: console and API on ${running.controlUrl}/ (OpenAPI: ${running.controlUrl}/v1/openapi.json)`,
  );
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    stop?.addEventListener('abort', done, { once: true });
  });
  log('shutting down');
  await running.close();
  return EXIT_OK;
}
