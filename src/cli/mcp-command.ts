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
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { type Command, Option } from 'commander';
import { AgentStanding } from '../auth/agent-standing.js';
import { CheckpointPublisher, checkpointTargets } from '../export/checkpoint-publisher.js';
import { Gateway } from '../gateway/gateway.js';
import { ToolPins } from '../gateway/tool-pinning.js';
import { Upstream } from '../gateway/upstream.js';
import { parseEnvOptions } from '../gateway/upstream-env.js';
import { Harness } from '../harness/harness.js';
import { upstreamTextScreen } from '../harness/upstream-screen.js';
import type { PolicyWatcher } from '../loader/policy-watcher.js';
import { describeError } from '../spec/errors.js';
import {
  type AuditCheckpointsConfig,
  StdioUpstreamSchema,
  UpstreamNameSchema,
} from '../spec/gateway-config.js';
import type { CallCredential, StandingSubject } from '../spec/standing.js';
import type { Principal } from '../spec/tool-call.js';
import type { AuditLog } from '../store/audit-log.js';
import type { IdentityStore } from '../store/state-stores.js';
import {
  memoryGuardOf,
  openIdentityStore,
  openWritableAuditLog,
  type StoreOptions,
  watchPolicy,
} from './audit-store.js';
import {
  CHECKPOINT_KEYS_HELP,
  type CommandContext,
  DATABASE_URL_HELP,
  DB_HELP,
  LOCK_HELP,
} from './command-context.js';
import { type CliIo, describeFully, EXIT_ERROR, EXIT_OK } from './io.js';
import { durationMilliseconds } from './option-values.js';
import { type OversightWiring, wireOversight } from './oversight-wiring.js';
import { PolicyReloadAudit } from './policy-reload-audit.js';
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
}

export async function runStdioGateway(
  options: McpOptions,
  command: readonly string[],
  io: CliIo,
): Promise<number> {
  const log = (line: string) => io.err(`reins mcp: ${line}`);
  const [executable, ...args] = command;
  if (executable === undefined) {
    log(
      'give the upstream command after `--`, e.g. `reins mcp --agent a --policy p.yaml -- npx server ./work`',
    );
    return EXIT_ERROR;
  }
  const name = UpstreamNameSchema.safeParse(options.name);
  if (!name.success) {
    log(`invalid --name \`${options.name}\`: ${name.error.issues[0]?.message ?? ''}`);
    return EXIT_ERROR;
  }
  const stdio = upstreamStdio(executable, args, options.env ?? []);
  if (typeof stdio === 'string') {
    log(stdio);
    return EXIT_ERROR;
  }
  const webhook = options.publishCheckpointsWebhook;
  if (webhook !== undefined && !/^https?:$/.test(URL.parse(webhook)?.protocol ?? '')) {
    log(`invalid --publish-checkpoints-webhook \`${webhook}\`: give an http(s) URL`);
    return EXIT_ERROR;
  }
  let policy: PolicyWatcher;
  const reloads = new PolicyReloadAudit(options.policy, log);
  try {
    policy = watchPolicy(options.policy, log, reloads);
  } catch (error) {
    log(describeFully(error));
    return EXIT_ERROR;
  }

  let identity: IdentityStore | undefined;
  let standing: AgentStanding | undefined;
  let principal: Principal;
  // this process acts like a credential issued now: revocations of the agent from now on apply
  const sessionId = `mcp-${randomUUID()}`;
  const credential: CallCredential = { tokenIds: [], sessionId, issuedAtMs: Date.now() };
  try {
    identity = await openIdentityStore(options);
    standing = await AgentStanding.open(identity);
    const agent = standing.agent(options.agent);
    // fail closed: an agent nobody registered, or one that is suspended, gets no tools at all
    if (agent === undefined)
      throw new Error(`unknown agent \`${options.agent}\`: register it with \`reins agents create\``);
    const refusal = standing.check({ agentIds: [agent.id], credential });
    if (refusal !== undefined) throw new Error(refusal.message);
    principal = {
      agentId: agent.id,
      roles: agent.roles,
      owner: agent.owner,
      delegatedBy: [],
      scopes: agent.scopes,
    };
  } catch (error) {
    log(describeError(error));
    policy.stop();
    standing?.close();
    await identity?.close();
    return EXIT_ERROR;
  }
  const agentStanding = standing;
  const closeIdentity = async () => {
    stopReporting();
    agentStanding.close();
    await identity.close();
  };
  const subject: StandingSubject = { agentIds: [principal.agentId], credential };
  const stopReporting = reportStanding(agentStanding, subject, principal.agentId, log);

  let audit: AuditLog;
  let publisher: CheckpointPublisher | undefined;
  try {
    // checkpoints leave the database as they are signed (decision 0012), as in `reins gateway`
    const targets = checkpointTargets({
      directory: options.publishCheckpoints,
      webhook: options.publishCheckpointsWebhook,
    });
    publisher = targets.length > 0 ? new CheckpointPublisher({ targets, log }) : undefined;
    const published = publisher;
    audit = await openWritableAuditLog(
      options,
      published ? { onCheckpoint: (checkpoint) => published.publish(checkpoint) } : {},
      log,
    );
  } catch (error) {
    log(describeError(error));
    policy.stop();
    await publisher?.close();
    await identity.close();
    return EXIT_ERROR;
  }
  const auditLog = audit;
  const publishing = publisher;
  const stopRecordingReloads = reloads.recordTo(auditLog);
  // the log's close signs the last checkpoint: the publisher closes after it
  const closeAudit = async () => {
    stopRecordingReloads();
    await auditLog.close();
    await publishing?.close();
  };
  const upstream = new Upstream(
    { name: name.data, stdio },
    {
      callTimeoutMs: Number(options.callTimeout),
      onEvent: (event) => log(`upstream \`${event.upstream}\` ${event.kind}: ${event.message}`),
      screen: upstreamTextScreen(policy, name.data),
    },
  );
  try {
    await upstream.connect();
  } catch (error) {
    log(describeError(error));
    policy.stop();
    await Promise.all([closeAudit(), closeIdentity()]);
    return EXIT_ERROR;
  }

  const approvalTimeoutMs = Number(options.approvalTimeout ?? 300_000);
  if (!(approvalTimeoutMs > 0)) {
    log(`invalid --approval-timeout \`${options.approvalTimeout}\`: give milliseconds`);
    policy.stop();
    await upstream.close();
    await Promise.all([closeAudit(), closeIdentity()]);
    return EXIT_ERROR;
  }
  // held calls become durable approval requests, decided from any process on the store
  let oversight: OversightWiring;
  try {
    oversight = await wireOversight(options, { approvalTimeoutMs, log });
  } catch (error) {
    log(describeError(error));
    policy.stop();
    await upstream.close();
    await Promise.all([closeAudit(), closeIdentity()]);
    return EXIT_ERROR;
  }
  const harness = new Harness({
    policy,
    audit,
    sessions: oversight.sessions,
    approvals: oversight.approvals,
    overrides: oversight.overrides,
    approvalTimeoutMs,
    // every call (and every held call) checks the agent's standing as the store reports it now
    standing: agentStanding,
  });
  let pins: ToolPins;
  try {
    pins = ToolPins.load(options.lock);
  } catch (error) {
    log(describeError(error));
    policy.stop();
    await upstream.close();
    await Promise.all([closeAudit(), closeIdentity(), oversight.close()]);
    return EXIT_ERROR;
  }
  const closeMemory: (() => Promise<void>)[] = [];
  const memoryGuard = memoryGuardOf(options, (close) => closeMemory.push(close));
  const gateway = new Gateway({ upstreams: [upstream], harness, policy, pins, audit, memoryGuard });
  const server = gateway.createServer({ principal, sessionId, credential });
  log(
    `agent \`${principal.agentId}\`, session ${sessionId}, ${gateway.visibleTools(principal).length} of ${upstream.listTools().length} tools visible`,
  );
  const lifetime = watchProcessLifetime({ log, forcedExitCode: EXIT_ERROR });
  await serveUntilGone(server, harness, lifetime, log);
  // nothing uses the upstream or the stores any more: they close together (the upstream's own close
  // ends its stdin, then escalates to SIGTERM and SIGKILL), and the log's close signs its last checkpoint
  policy.stop();
  await Promise.all([
    upstream.close(),
    ...closeMemory.map((close) => close()),
    closeAudit(),
    closeIdentity(),
    oversight.close(),
  ]);
  lifetime.dispose();
  return EXIT_OK;
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
  await server.connect(new StdioServerTransport());
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

/** `reins mcp`. */
export function registerMcpCommand(program: Command, context: CommandContext): void {
  const { io } = context;
  context
    .onDeployment(
      program
        .command('mcp')
        .description(
          'run as a local MCP server (stdio) in front of one upstream: reins mcp --agent a --policy p.yaml -- <command...>',
        ),
      'start',
    )
    .requiredOption('--agent <id>', 'the registered agent this client acts as')
    .option('--policy <path>', "policy file or directory, hot-reloaded (default: the deployment's policy)")
    .option('--name <upstream>', 'name of the upstream in policies (tools are <name>/<tool>)', 'local')
    .option('--db <file>', DB_HELP)
    .option('--database-url <url>', DATABASE_URL_HELP)
    .option(
      '--call-timeout <duration>',
      'how long the upstream may take per call: 30s, 2m, ... or milliseconds',
      durationMilliseconds,
      '60000',
    )
    .option(
      '--approval-timeout <duration>',
      'how long a held call waits for human approval: 5m, 1h, ... or milliseconds',
      durationMilliseconds,
      '300000',
    )
    .option('--lock <file>', `${LOCK_HELP}; commit it`)
    .option('--checkpoint-keys <dir>', CHECKPOINT_KEYS_HELP)
    .option(
      '--publish-checkpoints <dir>',
      'append every signed checkpoint to <dir>/checkpoints.jsonl, outside the database (verify with `reins audit verify --checkpoints`)',
    )
    .option('--publish-checkpoints-webhook <url>', 'POST every signed checkpoint to this URL')
    .option(
      '--env <NAME|NAME=value>',
      "the upstream gets PATH, HOME and the locale, not Reins' environment: pass NAME on, or set NAME=value (repeatable; never REINS_*)",
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .addOption(
      new Option(
        '--durability <mode>',
        "SQLite audit commits: full = fsync each (survives a power cut), process = no fsync each (survives a crash of Reins only; docs/decisions/0010); default: the configuration's, else full",
      ).choices(['full', 'process']),
    )
    .argument('<command...>', 'the upstream MCP server to spawn, after `--`')
    .action(async (command: string[], options: Omit<McpOptions, 'policy'> & { policy?: string }) => {
      if (options.policy === undefined) {
        io.err('reins mcp: give --policy <path>, or a configuration that names one (--config, REINS_CONFIG)');
        context.exit(EXIT_ERROR);
        return;
      }
      // the lock's directory (beside the store, or where the configuration says) may not exist yet
      mkdirSync(dirname(options.lock), { recursive: true, mode: 0o700 });
      const publication = configuredPublication(options, io);
      context.exit(
        await runStdioGateway({ ...options, ...publication, policy: options.policy }, command, io),
      );
    });
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
