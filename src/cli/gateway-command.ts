/**
 * @module cli/gateway-command
 * `reins gateway --config reins.yaml`: the MCP gateway for remote agents over Streamable HTTP. Starts
 * every upstream, checks the configuration and the policy before listening, and shuts down cleanly
 * on SIGINT/SIGTERM (pending audit records are flushed).
 */
import { Authenticator } from '../auth/authenticator.js';
import { Gateway } from '../gateway/gateway.js';
import { HttpGateway } from '../gateway/http-server.js';
import { ToolPins } from '../gateway/tool-pinning.js';
import { Upstream } from '../gateway/upstream.js';
import { Harness } from '../harness/harness.js';
import { loadGatewayConfig } from '../loader/gateway-config-file.js';
import { formatProblem } from '../policy/policy-problem.js';
import { describeError } from '../spec/errors.js';
import type { AuditLog } from '../store/audit-log.js';
import { memoryGuardOf, openIdentityStore, openWritableAuditLog, watchPolicy } from './audit-store.js';
import { type CliIo, EXIT_ERROR, EXIT_OK } from './io.js';
import { wireOversight } from './oversight-wiring.js';

export async function runHttpGateway(
  options: { config: string },
  io: CliIo,
  stop?: AbortSignal,
): Promise<number> {
  const log = (line: string) => io.err(`reins gateway: ${line}`);
  const loaded = loadGatewayConfig(options.config);
  if (!loaded.ok) {
    for (const problem of loaded.problems) io.err(formatProblem(problem));
    return EXIT_ERROR;
  }
  const { config, directory } = loaded;
  const storeOptions = {
    db: config.store.sqlite,
    ...(config.store.databaseUrl ? { databaseUrl: config.store.databaseUrl } : {}),
  };
  const cleanup: (() => Promise<void> | void)[] = [];
  const shutDown = async () => {
    for (const step of cleanup.reverse())
      await Promise.resolve(step()).catch((error: unknown) => log(`shutting down: ${describeError(error)}`));
  };
  try {
    const policy = watchPolicy(config.policy, log);
    cleanup.push(() => policy.stop());
    const audit: AuditLog = await openWritableAuditLog(storeOptions);
    cleanup.push(() => audit.close());
    const identity = await openIdentityStore(storeOptions);
    cleanup.push(() => identity.close());
    const authenticator = await Authenticator.open({ store: identity, audit });
    cleanup.push(() => authenticator.close());
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
    const oversight = await wireOversight(storeOptions, {
      approvalTimeoutMs: config.limits.approvalTimeout,
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
    });
    const pins = ToolPins.load(config.lock);
    const memoryGuard = memoryGuardOf(storeOptions, (close) => cleanup.push(close));
    const gateway = new Gateway({ upstreams, harness, policy, pins, audit, memoryGuard });
    const http = new HttpGateway({
      gateway,
      authenticator,
      host: config.listen.host,
      port: config.listen.port,
      path: config.listen.path,
      maxMessageBytes: config.limits.maxMessageBytes,
      log,
    });
    const endpoint = await http.listen();
    cleanup.push(() => http.close());
    io.out(
      `reins gateway listening on ${endpoint} (${upstreams.map((upstream) => `${upstream.name}: ${upstream.listTools().length} tools`).join(', ')})`,
    );
    await new Promise<void>((resolve) => {
      const done = () => resolve();
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
      stop?.addEventListener('abort', done, { once: true });
    });
    log('shutting down');
    await shutDown();
    return EXIT_OK;
  } catch (error) {
    log(describeError(error));
    await shutDown();
    return EXIT_ERROR;
  }
}
