/**
 * @module cli/mcp-command
 * `reins mcp --agent <id> --policy <path> -- <command> [args...]`: Reins as a local MCP server over
 * stdio, fronting one upstream it spawns. A desktop client runs this instead of the upstream: the
 * agent sees only the tools its policy may allow, and every call is decided, recorded and filtered.
 * Standard output carries the MCP protocol, so everything else goes to standard error.
 *
 * The agent's standing (suspension, retirement, revocation of its credentials) is followed through the
 * identity store's change feed and checked by the pipeline on every call, as for a credential issued
 * when this process started: a suspension from any process refuses the next call, and a resumed agent
 * needs a restarted `reins mcp` (as it needs new credentials).
 *
 * A desktop client starts and stops its servers all the time: `reins mcp` ends with its client (end of
 * input, a signal, or its parent's death; cli/process-lifetime), records the outcome of every call still
 * in progress, and closes its upstream, which also ends on its own when a killed Reins closes its stdin.
 * Its parts (policy, stores, upstream, oversight, harness, gateway) are composed and closed as those of
 * `reins gateway` are (cli/gateway-process); only the caller (one agent) and the front (stdio) differ.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { AgentStanding } from '../auth/agent-standing.js';
import { RequestIdTransport } from '../gateway/request-ids.js';
import { parseEnvOptions } from '../gateway/upstream-env.js';
import type { Harness } from '../harness/harness.js';
import { describeError } from '../spec/errors.js';
import {
  type AuditCheckpointsConfig,
  StdioUpstreamSchema,
  type TracesConfig,
  UpstreamNameSchema,
} from '../spec/gateway-config.js';
import type { CallCredential, StandingSubject } from '../spec/standing.js';
import type { Principal } from '../spec/tool-call.js';
import type { StoreOptions } from './audit-store.js';
import {
  type CallerSource,
  type Callers,
  type GatewayPlan,
  type GatewayProcess,
  startGatewayProcess,
  traceExportIn,
} from './gateway-process.js';
import { openIdentityStore } from './identity-store.js';
import { type CliIo, describeFully, EXIT_ERROR, EXIT_OK } from './io.js';
import { type ProcessLifetime, watchProcessLifetime } from './process-lifetime.js';

export interface McpOptions extends StoreOptions {
  readonly agent: string;
  readonly policy: string;
  readonly name: string;
  readonly callTimeout: string;
  /** Milliseconds a held call waits for approval (default 300,000). */
  readonly approvalTimeout?: string;
  /** Tool definition pins. */
  readonly lock: string;
  /** `NAME` (passed on from this environment) or `NAME=value`, for the upstream (gateway/upstream-env.ts). */
  readonly env?: readonly string[];
  /** Where signed checkpoints are published outside the database (decision 0012), like `audit.checkpoints.publish`. */
  readonly publishCheckpoints?: string;
  readonly publishCheckpointsWebhook?: string;
  /** The deployment's `telemetry.traces` (reins.yaml), if any; else the OTEL_EXPORTER_OTLP_* environment. */
  readonly traces?: TracesConfig;
}

export async function runStdioGateway(
  options: McpOptions,
  command: readonly string[],
  io: CliIo,
): Promise<number> {
  const log = (line: string) => io.err(`reins mcp: ${line}`);
  const plan = stdioGatewayPlan(options, command);
  if (typeof plan === 'string') {
    log(plan);
    return EXIT_ERROR;
  }
  let running: GatewayProcess<AgentCaller>;
  try {
    running = await startGatewayProcess(plan, agentCaller(options.agent), log);
  } catch (error) {
    log(describeFully(error));
    return EXIT_ERROR;
  }
  const { gateway, harness, upstreams, callers } = running;
  const { principal, sessionId, credential } = callers;
  const server = gateway.createServer({ principal, sessionId, credential });
  log(
    `agent \`${principal.agentId}\`, session ${sessionId}, ${gateway.visibleTools(principal).length} of ${upstreams[0]?.listTools().length ?? 0} tools visible`,
  );
  const lifetime = watchProcessLifetime({ log, forcedExitCode: EXIT_ERROR });
  await serveUntilGone(server, harness, lifetime, log);
  // nothing uses the upstream or the stores any more: the upstream's close ends its stdin (then
  // escalates to SIGTERM and SIGKILL), and the log's close signs its last checkpoint
  await running.close();
  lifetime.dispose();
  return EXIT_OK;
}

/** What `reins mcp` serves, from its flags; or what is wrong with them (nothing has started yet). */
function stdioGatewayPlan(options: McpOptions, command: readonly string[]): GatewayPlan | string {
  const [executable, ...args] = command;
  if (executable === undefined) {
    return 'give the upstream command after `--`, e.g. `reins mcp --agent a --policy p.yaml -- npx server ./work`';
  }
  const name = UpstreamNameSchema.safeParse(options.name);
  if (!name.success) return `invalid --name \`${options.name}\`: ${name.error.issues[0]?.message ?? ''}`;
  const stdio = upstreamStdio(executable, args, options.env ?? []);
  if (typeof stdio === 'string') return stdio;
  const webhook = options.publishCheckpointsWebhook;
  if (webhook !== undefined && !/^https?:$/.test(URL.parse(webhook)?.protocol ?? '')) {
    return `invalid --publish-checkpoints-webhook \`${webhook}\`: give an http(s) URL`;
  }
  const approvalTimeoutMs = Number(options.approvalTimeout ?? 300_000);
  if (!(approvalTimeoutMs > 0))
    return `invalid --approval-timeout \`${options.approvalTimeout}\`: give milliseconds`;
  let traces: ReturnType<typeof traceExportIn>;
  try {
    traces = traceExportIn(options.traces);
  } catch (error) {
    return describeError(error);
  }
  return {
    ...traces,
    storeOptions: options,
    policy: options.policy,
    // checkpoints leave the database as they are signed (decision 0012), as in `reins gateway`
    publish: { directory: options.publishCheckpoints, webhook: options.publishCheckpointsWebhook },
    upstreams: [{ name: name.data, stdio }],
    callTimeoutMs: Number(options.callTimeout),
    approvalTimeoutMs,
    lock: options.lock,
  };
}

/** The one registered agent a stdio client acts as, and the session and credential of this process. */
interface AgentCaller extends Callers {
  readonly principal: Principal;
  readonly sessionId: string;
  readonly credential: CallCredential;
}

/**
 * Opened before the audit log: an agent nobody registered, or one that is suspended, gets no tools at
 * all (fail closed) and nothing is created. This process acts like a credential issued now: the
 * agent's revocations from now on apply, and every call checks its standing as the store reports it.
 */
function agentCaller(agentId: string): CallerSource<AgentCaller> {
  return {
    openBeforeAudit: async ({ storeOptions, log, onClose }) => {
      const sessionId = `mcp-${randomUUID()}`;
      const credential: CallCredential = { tokenIds: [], sessionId, issuedAtMs: Date.now() };
      const identity = await openIdentityStore(storeOptions);
      onClose(() => identity.close());
      const standing = await AgentStanding.open(identity);
      onClose(() => standing.close());
      const agent = standing.agent(agentId);
      if (agent === undefined)
        throw new Error(`unknown agent \`${agentId}\`: register it with \`reins agents create\``);
      const refusal = standing.check({ agentIds: [agent.id], credential });
      if (refusal !== undefined) throw new Error(refusal.message);
      const principal: Principal = {
        agentId: agent.id,
        roles: agent.roles,
        owner: agent.owner,
        delegatedBy: [],
        parentSessions: [],
        scopes: agent.scopes,
      };
      const subject: StandingSubject = { agentIds: [principal.agentId], credential };
      onClose(reportStanding(standing, subject, principal.agentId, log));
      return { principal, sessionId, credential, standing };
    },
  };
}

/**
 * Serves the client over this process' stdio until it goes (cli/process-lifetime), then closes the
 * connection: the calls in progress are aborted (a held call ends as abandoned, its approval request
 * closed) and their outcome records are written before anything closes.
 */
async function serveUntilGone(
  server: Server,
  harness: Harness,
  lifetime: ProcessLifetime,
  log: (line: string) => void,
): Promise<void> {
  // the SDK's stdio transport ignores the end of its input: the lifetime watches it
  const closed = new Promise<string>((resolve) => {
    server.onclose = () => resolve('the connection closed');
  });
  // the server knows requests by ids of its own: a client's `0` or `""` can be cancelled too
  await server.connect(new RequestIdTransport(new StdioServerTransport()));
  const reason = await Promise.race([lifetime.ended, closed]);
  log(`stopping: ${reason}`);
  lifetime.stopping();
  await server.close();
  await harness.settled();
}

/** The upstream's command and environment (`--env`), checked like a reins.yaml stdio block; or the error. */
function upstreamStdio(command: string, args: string[], env: readonly string[]) {
  try {
    const stdio = StdioUpstreamSchema.shape.stdio.safeParse({ command, args, ...parseEnvOptions(env) });
    if (stdio.success) return stdio.data;
    const issue = stdio.error.issues[0];
    return `invalid --env: \`${issue?.path.join('.') ?? ''}\`: ${issue?.message ?? ''}`;
  } catch (error) {
    return describeError(error);
  }
}

/** Logs when the agent's standing changes (refused from now on, or in good standing again). */
function reportStanding(
  standing: AgentStanding,
  subject: StandingSubject,
  agentId: string,
  log: (line: string) => void,
): () => void {
  let last: string | undefined;
  return standing.onChange(() => {
    const agent = standing.agent(agentId);
    const refusal = standing.check(subject);
    const state =
      refusal?.code === 'revoked' ? ` (agent \`${agentId}\` is ${agent?.state ?? 'unknown'})` : '';
    const line =
      refusal === undefined
        ? `agent \`${agentId}\` is active: its calls are decided by the policy`
        : `${refusal.message}${state}: its calls are refused`;
    if (line !== last) log(line);
    last = line;
  });
}

/** `reins mcp`'s options, as the command line gives them (the policy may be missing). */
export type McpCommandOptions = Omit<McpOptions, 'policy'> & {
  readonly policy?: string;
  readonly checkpointPublication?: AuditCheckpointsConfig['publish'];
};

/** `reins mcp`: serves until its client goes; resolves to the exit code. */
export async function runMcp(command: string[], options: McpCommandOptions, io: CliIo): Promise<number> {
  if (options.policy === undefined) {
    io.err('reins mcp: give --policy <path>, or a configuration that names one (--config, REINS_CONFIG)');
    return EXIT_ERROR;
  }
  // the lock's directory (beside the store, or where the configuration says) may not exist yet
  mkdirSync(dirname(options.lock), { recursive: true, mode: 0o700 });
  const publication = configuredPublication(options, io);
  return runStdioGateway({ ...options, ...publication, policy: options.policy }, command, io);
}

/**
 * `reins mcp` publishes signed checkpoints where its flags say, else where the deployment's
 * `audit.checkpoints.publish` says (directory and webhook; it has no OTLP publisher, and says so).
 */
function configuredPublication(
  options: {
    publishCheckpoints?: string;
    publishCheckpointsWebhook?: string;
    checkpointPublication?: AuditCheckpointsConfig['publish'];
  },
  io: CliIo,
): { publishCheckpoints?: string; publishCheckpointsWebhook?: string } {
  const configured = options.checkpointPublication;
  if (configured === undefined) return {};
  if (options.publishCheckpoints !== undefined || options.publishCheckpointsWebhook !== undefined) return {};
  if (configured.otlp !== undefined)
    io.err(
      `reins mcp: checkpoints are not published to the configuration's OTLP target ${configured.otlp} (reins mcp publishes to a directory and a webhook only)`,
    );
  return {
    ...(configured.directory !== undefined ? { publishCheckpoints: configured.directory } : {}),
    ...(configured.webhook !== undefined ? { publishCheckpointsWebhook: configured.webhook } : {}),
  };
}
