/**
 * @module cli/main
 * The `reins` command line. Each command lives in its own module; this file only wires options.
 * `runCli` never calls process.exit, so tests can run it in-process.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { describeError } from '../spec/errors.js';
import type { AuditCheckpointsConfig } from '../spec/gateway-config.js';
import {
  changeAgentState,
  createAgent,
  issueAgentToken,
  listAgents,
  showAgent,
  showJwks,
} from './agent-commands.js';
import {
  exportAudit,
  pruneAudit,
  type QueryOptions,
  queryAudit,
  showPublicKey,
  showSession,
  signCheckpoint,
  type VerifyOptions,
  verifyAudit,
} from './audit-commands.js';
import type { StoreOptions } from './audit-store.js';
import { decide } from './decide-command.js';
import { type DemoCommandOptions, runDemoCommand } from './demo-command.js';
import { CONFIG_ENV, type DeploymentUse, deploymentOptionValues, resolveDeployment } from './deployment.js';
import { runHttpGateway } from './gateway-command.js';
import { type CliIo, DEMO_AUDIT_PATH, describeFully, EXIT_ERROR, EXIT_OK, processIo } from './io.js';
import { generateKeys, type KeyCommandOptions, rotateKeys, showKeys } from './key-commands.js';
import { type McpOptions, runStdioGateway } from './mcp-command.js';
import {
  AUDIT_EFFECT_HELP,
  AUDIT_KIND_HELP,
  auditEffect,
  auditKind,
  durationMilliseconds,
  durationSeconds,
  isoTime,
  positiveInteger,
  sequenceNumber,
} from './option-values.js';
import {
  type ActorOptions,
  listApprovals,
  listSessions,
  overrideDenial,
  setSessionStatus,
  showApproval,
  showSession as showControlledSession,
  voteApproval,
} from './oversight-commands.js';
import { checkPolicies, testPolicies } from './policy-commands.js';
import { type ReplayCommandOptions, runReplay } from './replay-command.js';
import { runServe } from './serve-command.js';
import { approveTool, listTools } from './tools-commands.js';
import {
  createUserCommand,
  deleteUser,
  listUsers,
  rotateUserToken,
  type UserStoreOptions,
} from './user-commands.js';

const CONFIG_FLAG = '--config <file>';
const CONFIG_HELP = `the deployment's reins.yaml (default: ${CONFIG_ENV}, else ./reins.yaml if there is one)`;
const DB_HELP = "SQLite store (default: the configuration's, else .reins/audit.db)";
const CREDENTIAL_KEYS_FLAG = '--credential-keys <dir>';
const LOCK_HELP =
  "tool definition pins (default: the configuration's lock, else reins.lock beside the store)";
const CREDENTIAL_KEYS_HELP =
  'credential key directory (default: REINS_CREDENTIAL_KEYS or .reins-keys/credentials)';

function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}

/** Runs the CLI with `argv` (as in process.argv) and resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let exitCode = EXIT_OK;
  const program = new Command('reins')
    .description('Runtime governance for AI agents: decide before every tool call, enforce, and audit')
    .version(packageVersion())
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text.trimEnd()),
      writeErr: (text) => io.err(text.trimEnd()),
    });

  // One resolution of the deployment for every command that acts on one (cli/deployment): before its
  // action runs, a marked command's options get the store, keys, lock and policy it names; one that
  // needs an existing deployment and finds none stops here, before it opens (and creates) anything.
  const uses = new WeakMap<Command, DeploymentUse>();
  const onDeployment = (command: Command, use: DeploymentUse) => {
    uses.set(command, use);
    return command.option(CONFIG_FLAG, CONFIG_HELP);
  };
  program.hook('preAction', (_program, action) => {
    const use = uses.get(action);
    if (use === undefined) return;
    try {
      for (const [key, value] of Object.entries(deploymentOptionValues(use, action.opts())))
        action.setOptionValue(key, value);
    } catch (error) {
      io.err(`reins ${commandPath(action)}: ${describeFully(error)}`);
      throw new CommanderError(EXIT_ERROR, 'reins.deployment', 'no deployment');
    }
  });

  const policy = program.command('policy').description('validate and test policy files');
  policy
    .command('check')
    .description('validate policy files; problems are reported as file:line:column')
    .argument('[paths...]', "policy files or directories (default: the deployment's policy)")
    .option(CONFIG_FLAG, CONFIG_HELP)
    .action((paths: string[], options: { config?: string }) => {
      const given = paths.length > 0 ? paths : deploymentPolicy('policy check', options, io);
      exitCode = given === undefined ? EXIT_ERROR : checkPolicies(given, io);
    });
  policy
    .command('test')
    .description('run policy unit tests (*.test.yaml)')
    .argument('<path>', 'a test file or a directory searched for *.test.yaml')
    .action((path: string) => {
      exitCode = testPolicies(path, io);
    });

  program
    .command('decide')
    .description('decide one call against a policy and print the Decision as JSON (nothing runs)')
    .option('--policy <path>', "policy file or directory (default: the deployment's policy)")
    .option(CONFIG_FLAG, CONFIG_HELP)
    .requiredOption(
      '--call <json|@file>',
      'the call: {"principal":{"agentId":..},"tool":{"server":..,"name":..},"args":{..}}',
    )
    .action((options: { policy?: string; config?: string; call: string }) => {
      const policy = options.policy ?? deploymentPolicy('decide', options, io)?.[0];
      exitCode = policy === undefined ? EXIT_ERROR : decide({ policy, call: options.call }, io);
    });

  const audit = program.command('audit').description('inspect, verify and maintain the audit log');
  const storeOptions = (command: Command, use: DeploymentUse = 'store') =>
    onDeployment(command, use)
      .option('--db <file>', DB_HELP)
      .option('--database-url <url>', 'PostgreSQL connection string (default: REINS_DATABASE_URL)')
      .option(
        '--checkpoint-keys <dir>',
        'checkpoint key directory (default: REINS_CHECKPOINT_KEYS or .reins-keys/checkpoints)',
      )
      .option('--signing-key <file>', 'checkpoint key file instead, PKCS#8 PEM with mode 0600');
  storeOptions(audit.command('verify'))
    .description('verify the hash chain and signed checkpoints; names the first bad record')
    .option(
      '--public-key <file...>',
      'trusted public key(s) to check checkpoint signatures with, kept away from the log (default: from the signing key)',
    )
    .option(
      '--checkpoints <file|dir...>',
      'published checkpoints (JSON Lines file or publication directory) the log must agree with',
    )
    .option(
      '--checkpoint <file...>',
      'checkpoints kept outside the log (one JSON each), to detect a cut tail',
    )
    .option(
      '--checkpoint-every <n>',
      "the cadence checkpoints are signed at (default: the configuration's audit.checkpoints.every, else 1000)",
      positiveInteger,
    )
    .action(async (options: VerifyOptions) => {
      exitCode = await verifyAudit(options, io);
    });
  storeOptions(audit.command('query'))
    .description('list records by agent, session, tool, effect, kind and time')
    .option('--agent <id>')
    .option('--session <id>')
    .option('--tool <server/name>')
    .option('--effect <effect>', AUDIT_EFFECT_HELP, auditEffect)
    .option('--kind <kind>', AUDIT_KIND_HELP, auditKind)
    .option(
      '--from <time>',
      'ISO 8601 date or date-time with a zone (2026-12-06, 2026-12-06T10:00:00Z), inclusive',
      isoTime,
    )
    .option('--to <time>', 'ISO 8601 date or date-time with a zone, exclusive', isoTime)
    .option('--after <seq>', 'only records after this sequence number', sequenceNumber)
    .option('--limit <n>', 'most records (default 1000, at most 10000)', positiveInteger)
    .option('--format <format>', 'table or json (one record per line)', 'table')
    .action(async (options: QueryOptions) => {
      exitCode = await queryAudit(options, io);
    });
  storeOptions(audit.command('show-session'))
    .description('reconstruct a session step by step, with decisions, outcomes and provenance')
    .argument('<session>', 'session id')
    .option('--format <format>', 'table or json', 'table')
    .action(async (session: string, options: StoreOptions & { format: string }) => {
      exitCode = await showSession(session, options, io);
    });
  storeOptions(audit.command('export'))
    .description(
      'export records and checkpoints as JSON Lines (re-verifiable elsewhere) or to an OTLP/HTTP collector',
    )
    .option('--format <format>', 'jsonl or otlp', 'jsonl')
    .option('--out <file>', 'write JSON Lines to a new file instead of standard output')
    .option('--after <seq>', 'only records after this sequence number', sequenceNumber)
    .option('--otlp-url <url>', 'OTLP/HTTP logs endpoint, e.g. http://127.0.0.1:4318/v1/logs')
    .action(
      async (options: StoreOptions & { format: string; out?: string; after?: number; otlpUrl?: string }) => {
        exitCode = await exportAudit(options, io);
      },
    );
  storeOptions(audit.command('public-key'), 'keys')
    .description('print the public key that verifies checkpoint signatures (keep a copy away from the log)')
    .action((options: StoreOptions) => {
      exitCode = showPublicKey(options, io);
    });
  storeOptions(audit.command('checkpoint'))
    .description('sign a checkpoint of the current head now and print it (store it elsewhere)')
    .action(async (options: StoreOptions) => {
      exitCode = await signCheckpoint(options, io);
    });
  storeOptions(audit.command('prune'))
    .description('retention: delete records up to the newest checkpoint older than the cut-off')
    .requiredOption('--older-than <duration>', 'e.g. 90d')
    .action(async (options: StoreOptions & { olderThan: string }) => {
      exitCode = await pruneAudit(options, io);
    });

  // who acts comes from a user API token (cli/operator-auth); the old identity options are parsed
  // only to refuse them with a message that says how to authenticate
  const operatorOptions = (command: Command) =>
    command
      .option(
        '--token-file <path>',
        'file with your user API token (default: the REINS_TOKEN environment variable)',
      )
      .addOption(new Option('--as <id>').hideHelp())
      .addOption(new Option('--role <list>').hideHelp())
      .addOption(new Option('--by <human>').hideHelp());

  const agents = program.command('agents').description('agent identities and their credentials');
  const agentStore = (command: Command, use: DeploymentUse = 'store') =>
    onDeployment(command, use)
      .option('--db <file>', DB_HELP)
      .option('--database-url <url>', 'PostgreSQL connection string (default: REINS_DATABASE_URL)');
  agentStore(agents.command('create'), 'start')
    .description('register an agent')
    .argument('<id>', 'agent id (lowercase letters, digits, . _ -)')
    .requiredOption('--owner <human>', 'the accountable human')
    .option('--description <text>')
    .option('--scopes <list>', 'comma-separated tools it may act on: server/name, crm/* or *')
    .option('--roles <list>', 'comma-separated roles')
    .option('--risk-tier <tier>', 'low, medium, high or critical')
    .action(
      (
        id: string,
        options: StoreOptions & {
          owner: string;
          description?: string;
          scopes?: string;
          roles?: string;
          riskTier?: string;
        },
      ) =>
        createAgent(id, options, io).then((code) => {
          exitCode = code;
        }),
    );
  agentStore(agents.command('list'))
    .option('--format <format>', 'table or json', 'table')
    .action((options: StoreOptions & { format: string }) =>
      listAgents(options, io).then((code) => {
        exitCode = code;
      }),
    );
  agentStore(agents.command('show'))
    .argument('<id>')
    .action((id: string, options: StoreOptions) =>
      showAgent(id, options, io).then((code) => {
        exitCode = code;
      }),
    );
  for (const action of ['suspend', 'resume', 'retire'] as const) {
    operatorOptions(agentStore(agents.command(action)))
      .description(
        action === 'suspend'
          ? 'kill switch: refuse its calls and revoke its credentials everywhere'
          : `${action} an agent`,
      )
      .argument('<id>')
      .requiredOption('--reason <text>', 'why, for the record')
      .action((id: string, options: StoreOptions & ActorOptions & { reason: string }) =>
        changeAgentState(action, id, options, io).then((code) => {
          exitCode = code;
        }),
      );
  }
  agentStore(agents.command('token'))
    .description('issue a short-lived credential (printed on standard output)')
    .option(CREDENTIAL_KEYS_FLAG, CREDENTIAL_KEYS_HELP)
    .argument('<id>')
    .option('--session <id>', 'session the credential is bound to (default: a new one)')
    .option('--scopes <list>', 'narrower than the mission (default: the whole mission)')
    .option(
      '--ttl <duration>',
      'lifetime: 30m, 1h, ... or seconds (default 15m, at most 24h)',
      durationSeconds,
    )
    .action((id: string, options: StoreOptions & { session?: string; scopes?: string; ttl?: number }) =>
      issueAgentToken(id, options, io).then((code) => {
        exitCode = code;
      }),
    );
  agentStore(agents.command('jwks'), 'keys')
    .description('print the JSON Web Key Set other services verify credentials with')
    .option(CREDENTIAL_KEYS_FLAG, CREDENTIAL_KEYS_HELP)
    .action((options: StoreOptions) =>
      showJwks(options, io).then((code) => {
        exitCode = code;
      }),
    );

  const keys = program
    .command('keys')
    .description('signing keys of credentials and checkpoints, kept apart from the store (docs/identity.md)');
  const keyOptions = (command: Command, use: DeploymentUse) =>
    onDeployment(command, use)
      .option(CREDENTIAL_KEYS_FLAG, CREDENTIAL_KEYS_HELP)
      .option(
        '--checkpoint-keys <dir>',
        'checkpoint key directory (default: REINS_CHECKPOINT_KEYS or .reins-keys/checkpoints)',
      );
  keyOptions(keys.command('generate'), 'start')
    .description('create key directories (0700) with a new key (0600); refuses one that has a key')
    .option('--purpose <purpose>', 'credentials or checkpoints (default: both)')
    .action((options: KeyCommandOptions) => {
      exitCode = generateKeys(options, io);
    });
  keyOptions(keys.command('rotate'), 'keys')
    .description(
      'sign with a new key; the old one verifies (credentials: until its tokens expire; checkpoints: for good)',
    )
    .requiredOption('--purpose <purpose>', 'credentials or checkpoints')
    .action((options: KeyCommandOptions) => {
      exitCode = rotateKeys(options, io);
    });
  keyOptions(keys.command('show'), 'keys')
    .description('key ids and public keys (nothing secret)')
    .option('--purpose <purpose>', 'credentials or checkpoints (default: both)')
    .action((options: KeyCommandOptions) => {
      exitCode = showKeys(options, io);
    });

  const approvals = program.command('approvals').description('held calls waiting for human approval');
  const actorOptions = (command: Command) => operatorOptions(agentStore(command));
  agentStore(approvals.command('list'))
    .description('approval requests (default: pending ones)')
    .option('--status <status>', 'pending, approved, denied, expired, used or cancelled', 'pending')
    .option('--format <format>', 'text or json', 'text')
    .action((options: StoreOptions & { status: string; format: string }) =>
      listApprovals(options, io).then((code) => {
        exitCode = code;
      }),
    );
  agentStore(approvals.command('show'))
    .argument('<id>', "the approval request (= the held call's decision id)")
    .option('--format <format>', 'text or json', 'text')
    .action((id: string, options: StoreOptions & { format: string }) =>
      showApproval(id, options, io).then((code) => {
        exitCode = code;
      }),
    );
  for (const verdict of ['approve', 'deny'] as const) {
    actorOptions(approvals.command(verdict))
      .description(`${verdict} a held call (the waiting call resumes in whichever process holds it)`)
      .argument('<id>', 'the approval request')
      .requiredOption('--reason <text>', 'why, for the record')
      .action((id: string, options: StoreOptions & ActorOptions & { reason: string }) =>
        voteApproval(id, verdict === 'approve', options, io).then((code) => {
          exitCode = code;
        }),
      );
  }

  const sessions = program.command('sessions').description('agent sessions: inspect, pause, resume, kill');
  agentStore(sessions.command('list'))
    .option('--status <status>', 'active, paused or killed')
    .option('--agent <id>', "only this agent's sessions")
    .option('--format <format>', 'text or json', 'text')
    .action((options: StoreOptions & { status?: string; agent?: string; format: string }) =>
      listSessions(options, io).then((code) => {
        exitCode = code;
      }),
    );
  agentStore(sessions.command('show'))
    .description('status and timeline of a session, with the provenance of each step')
    .argument('<id>')
    .option('--format <format>', 'text or json', 'text')
    .action((id: string, options: StoreOptions & { format: string }) =>
      showControlledSession(id, options, io).then((code) => {
        exitCode = code;
      }),
    );
  for (const [verb, status] of [
    ['pause', 'paused'],
    ['resume', 'active'],
    ['kill', 'killed'],
  ] as const) {
    actorOptions(sessions.command(verb))
      .description(
        verb === 'kill'
          ? 'stop a session for good: its held and further calls are refused'
          : `${verb} a session`,
      )
      .argument('<id>')
      .requiredOption('--reason <text>', 'why, for the record')
      .action((id: string, options: StoreOptions & ActorOptions & { reason: string }) =>
        setSessionStatus(id, status, options, io).then((code) => {
          exitCode = code;
        }),
      );
  }
  actorOptions(program.command('override'))
    .description('let one denied call run once if the agent retries it unchanged (admins)')
    .argument('<decision-id>', 'the denied call, as the audit log names it')
    .requiredOption('--reason <text>', 'why, for the record')
    .option('--session <id>', "the call's session (needed for denials older than a day)")
    .action((id: string, options: StoreOptions & ActorOptions & { reason: string; session?: string }) =>
      overrideDenial(id, options, io).then((code) => {
        exitCode = code;
      }),
    );

  onDeployment(
    program
      .command('gateway')
      .description('run the MCP gateway for remote agents (Streamable HTTP, Reins credentials)'),
    'config',
  ).action(async (options: { config: string }) => {
    exitCode = await runHttpGateway(options, io);
  });

  onDeployment(
    program
      .command('serve')
      .description(
        'run the MCP gateway, the control-plane API and the web console in one process (reins.yaml with an optional `control:` section)',
      ),
    'config',
  ).action(async (options: { config: string }) => {
    exitCode = await runServe(options, io);
  });

  const users = program.command('users').description('humans who use the control plane and the console');
  const userStore = (command: Command, use: DeploymentUse = 'store') =>
    onDeployment(command, use)
      .option('--db <file>', DB_HELP)
      .option('--database-url <url>', 'PostgreSQL connection string (default: REINS_DATABASE_URL)');
  const userTokenOption = (command: Command) =>
    command.option(
      '--token-file <path>',
      "file with an admin's user API token (default: REINS_TOKEN; not needed for the first user)",
    );
  userTokenOption(userStore(users.command('create'), 'first-user'))
    .description('create a user and print their API token (shown once)')
    .argument('<id>', 'e.g. an e-mail address')
    .requiredOption(
      '--role <role>',
      'viewer, approver or admin, or a role the policy names (repeatable)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .action((id: string, options: UserStoreOptions & { role: string[] }) =>
      createUserCommand(id, options, io).then((code) => {
        exitCode = code;
      }),
    );
  userStore(users.command('list'))
    .description('list users and their roles')
    .option('--format <format>', 'text or json', 'text')
    .action((options: UserStoreOptions & { format: string }) =>
      listUsers(options, io).then((code) => {
        exitCode = code;
      }),
    );
  userTokenOption(userStore(users.command('delete')))
    .description('delete a user (their token and console sessions stop working)')
    .argument('<id>')
    .action((id: string, options: UserStoreOptions) =>
      deleteUser(id, options, io).then((code) => {
        exitCode = code;
      }),
    );
  userTokenOption(userStore(users.command('rotate-token')))
    .description("replace a user's API token (printed once)")
    .argument('<id>')
    .action((id: string, options: UserStoreOptions) =>
      rotateUserToken(id, options, io).then((code) => {
        exitCode = code;
      }),
    );

  const tools = program.command('tools').description('tool definition pins (reins.lock) and quarantine');
  onDeployment(tools.command('list'), 'lock')
    .description('pinned and quarantined tools; exits 1 when any is in quarantine')
    .option('--lock <file>', LOCK_HELP)
    .action((options: { lock: string }) => {
      exitCode = listTools(options, io);
    });
  onDeployment(tools.command('approve'), 'lock')
    .description('re-approve a quarantined tool after reviewing its definition')
    .argument('<tool>', '<upstream>/<name>, as `reins tools list` shows it')
    .requiredOption('--by <human>', 'who reviewed it')
    .option('--lock <file>', LOCK_HELP)
    .action((key: string, options: { lock: string; by: string }) => {
      exitCode = approveTool(key, options, io);
    });

  onDeployment(
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
    .option('--database-url <url>', 'PostgreSQL connection string (default: REINS_DATABASE_URL)')
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
    .option(
      '--checkpoint-keys <dir>',
      'checkpoint key directory (default: REINS_CHECKPOINT_KEYS or .reins-keys/checkpoints)',
    )
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
        exitCode = EXIT_ERROR;
        return;
      }
      // the lock's directory (beside the store, or where the configuration says) may not exist yet
      mkdirSync(dirname(options.lock), { recursive: true, mode: 0o700 });
      const publication = configuredPublication(options, io);
      exitCode = await runStdioGateway({ ...options, ...publication, policy: options.policy }, command, io);
    });

  program
    .command('replay')
    .description(
      'run recorded traces through the pipeline with a policy and write one decision per tool call (JSON Lines)',
    )
    .argument('<source>', 'traces directory (agentdojo, openai) or SQLite audit log (audit-log)')
    .requiredOption('--format <format>', 'agentdojo, openai or audit-log')
    .requiredOption(
      '--policy <path>',
      'policy file or directory; a directory with <environment>.yaml files picks one per environment',
    )
    .requiredOption('--out <file>', 'decisions file to write: {"trace","index","decision"} per line')
    .option('--concurrency <n>', 'traces replayed at once', '8')
    .option('--explain', 'add the tool and, for flagged calls, the reasons to each line')
    .action(async (source: string, options: ReplayCommandOptions) => {
      exitCode = await runReplay(source, options, io);
    });

  program
    .command('demo')
    .description('run incident scenarios without and with Reins, and show the audit trail')
    .option('--db <file>', "the demo's own SQLite audit log (not a deployment's)", DEMO_AUDIT_PATH)
    .option(
      '--checkpoint-keys <dir>',
      'checkpoint key directory (default: REINS_CHECKPOINT_KEYS or .reins-keys/checkpoints)',
    )
    .option('--signing-key <file>', 'checkpoint key file instead, PKCS#8 PEM with mode 0600')
    .action(async (options: DemoCommandOptions) => {
      exitCode = await runDemoCommand(options, io);
    });

  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors were already printed
      return error.exitCode === 0 ? EXIT_OK : EXIT_ERROR;
    }
    io.err(`reins: ${describeError(error)}`);
    return EXIT_ERROR;
  }
  return exitCode;
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

/** `audit query`, `agents token`, ...: the command as typed, without `reins`. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at?.parent; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}

/** The policy of the deployment a command is given or finds (cli/deployment); undefined after saying why not. */
function deploymentPolicy(command: string, options: { config?: string }, io: CliIo): string[] | undefined {
  try {
    const { policy } = resolveDeployment({
      ...(options.config !== undefined ? { config: options.config } : {}),
    });
    if (policy !== undefined) return [policy];
    io.err(
      `reins ${command}: give a policy path, or a configuration that names one (--config, ${CONFIG_ENV})`,
    );
  } catch (error) {
    io.err(`reins ${command}: ${describeFully(error)}`);
  }
  return undefined;
}
