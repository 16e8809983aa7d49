/**
 * @module cli/main
 * The `reins` command line. Each command lives in its own module; this file only wires options.
 * `runCli` never calls process.exit, so tests can run it in-process.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { runDemo } from '../demo/run-demo.js';
import { describeError } from '../spec/errors.js';
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
import { checkpointSigningKey, type StoreOptions, verificationKey } from './audit-store.js';
import { decide } from './decide-command.js';
import { runHttpGateway } from './gateway-command.js';
import { type CliIo, DEFAULT_AUDIT_PATH, EXIT_ERROR, EXIT_OK, processIo } from './io.js';
import { generateKeys, type KeyCommandOptions, rotateKeys, showKeys } from './key-commands.js';
import { type McpOptions, runStdioGateway } from './mcp-command.js';
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

const CREDENTIAL_KEYS_FLAG = '--credential-keys <dir>';
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

  const policy = program.command('policy').description('validate and test policy files');
  policy
    .command('check')
    .description('validate policy files; problems are reported as file:line:column')
    .argument('<paths...>', 'policy files or directories')
    .action((paths: string[]) => {
      exitCode = checkPolicies(paths, io);
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
    .requiredOption('--policy <path>', 'policy file or directory')
    .requiredOption(
      '--call <json|@file>',
      'the call: {"principal":{"agentId":..},"tool":{"server":..,"name":..},"args":{..}}',
    )
    .action((options: { policy: string; call: string }) => {
      exitCode = decide(options, io);
    });

  const audit = program.command('audit').description('inspect, verify and maintain the audit log');
  const storeOptions = (command: Command) =>
    command
      .option('--db <file>', 'SQLite audit log', DEFAULT_AUDIT_PATH)
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
      'the cadence checkpoints are signed at (audit.checkpoints.every)',
      '1000',
    )
    .action(async (options: VerifyOptions) => {
      exitCode = await verifyAudit(options, io);
    });
  storeOptions(audit.command('query'))
    .description('list records by agent, session, tool, effect, kind and time')
    .option('--agent <id>')
    .option('--session <id>')
    .option('--tool <server/name>')
    .option(
      '--effect <effect>',
      'allow, deny, approve (intents) or ok, error, denied, expired, cancelled, abandoned (outcomes)',
    )
    .option('--kind <kind>', 'call-intent or call-outcome')
    .option('--from <time>', 'ISO 8601, inclusive')
    .option('--to <time>', 'ISO 8601, exclusive')
    .option('--after <seq>', 'only records after this sequence number')
    .option('--limit <n>', 'most records (default 1000, at most 10000)')
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
    .option('--after <seq>', 'only records after this sequence number')
    .option('--otlp-url <url>', 'OTLP/HTTP logs endpoint, e.g. http://127.0.0.1:4318/v1/logs')
    .action(
      async (options: StoreOptions & { format: string; out?: string; after?: string; otlpUrl?: string }) => {
        exitCode = await exportAudit(options, io);
      },
    );
  storeOptions(audit.command('public-key'))
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
  const agentStore = (command: Command) =>
    command
      .option('--db <file>', 'SQLite store', DEFAULT_AUDIT_PATH)
      .option('--database-url <url>', 'PostgreSQL connection string (default: REINS_DATABASE_URL)');
  agentStore(agents.command('create'))
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
    .option('--ttl <seconds>', 'lifetime (default 900)')
    .action((id: string, options: StoreOptions & { session?: string; scopes?: string; ttl?: string }) =>
      issueAgentToken(id, options, io).then((code) => {
        exitCode = code;
      }),
    );
  agentStore(agents.command('jwks'))
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
  const keyOptions = (command: Command) =>
    command
      .option('--config <file>', 'use the key sources named in this reins.yaml')
      .option(CREDENTIAL_KEYS_FLAG, CREDENTIAL_KEYS_HELP)
      .option(
        '--checkpoint-keys <dir>',
        'checkpoint key directory (default: REINS_CHECKPOINT_KEYS or .reins-keys/checkpoints)',
      );
  keyOptions(keys.command('generate'))
    .description('create key directories (0700) with a new key (0600); refuses one that has a key')
    .option('--purpose <purpose>', 'credentials or checkpoints (default: both)')
    .action((options: KeyCommandOptions) => {
      exitCode = generateKeys(options, io);
    });
  keyOptions(keys.command('rotate'))
    .description(
      'sign with a new key; the old one verifies (credentials: until its tokens expire; checkpoints: for good)',
    )
    .requiredOption('--purpose <purpose>', 'credentials or checkpoints')
    .action((options: KeyCommandOptions) => {
      exitCode = rotateKeys(options, io);
    });
  keyOptions(keys.command('show'))
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

  program
    .command('gateway')
    .description('run the MCP gateway for remote agents (Streamable HTTP, Reins credentials)')
    .requiredOption('--config <file>', 'gateway configuration (reins.yaml)')
    .action(async (options: { config: string }) => {
      exitCode = await runHttpGateway(options, io);
    });

  program
    .command('serve')
    .description('run the MCP gateway, the control-plane API and the web console in one process')
    .requiredOption(
      '--config <file>',
      'gateway configuration (reins.yaml), with an optional `control:` section',
    )
    .action(async (options: { config: string }) => {
      exitCode = await runServe(options, io);
    });

  const users = program.command('users').description('humans who use the control plane and the console');
  const userStore = (command: Command) =>
    command
      .option('--config <file>', 'use the store named in this reins.yaml')
      .option('--db <file>', 'SQLite store', DEFAULT_AUDIT_PATH)
      .option('--database-url <url>', 'PostgreSQL connection string (default: REINS_DATABASE_URL)');
  const userTokenOption = (command: Command) =>
    command.option(
      '--token-file <path>',
      "file with an admin's user API token (default: REINS_TOKEN; not needed for the first user)",
    );
  userTokenOption(userStore(users.command('create')))
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
  tools
    .command('list')
    .description('pinned and quarantined tools; exits 1 when any is in quarantine')
    .option('--lock <file>', 'lock file', 'reins.lock')
    .action((options: { lock: string }) => {
      exitCode = listTools(options, io);
    });
  tools
    .command('approve')
    .description('re-approve a quarantined tool after reviewing its definition')
    .argument('<tool>', '<upstream>/<name>, as `reins tools list` shows it')
    .requiredOption('--by <human>', 'who reviewed it')
    .option('--lock <file>', 'lock file', 'reins.lock')
    .action((key: string, options: { lock: string; by: string }) => {
      exitCode = approveTool(key, options, io);
    });

  program
    .command('mcp')
    .description(
      'run as a local MCP server (stdio) in front of one upstream: reins mcp --agent a --policy p.yaml -- <command...>',
    )
    .requiredOption('--agent <id>', 'the registered agent this client acts as')
    .requiredOption('--policy <path>', 'policy file or directory (hot-reloaded)')
    .option('--name <upstream>', 'name of the upstream in policies (tools are <name>/<tool>)', 'local')
    .option('--db <file>', 'SQLite store', DEFAULT_AUDIT_PATH)
    .option('--database-url <url>', 'PostgreSQL connection string (default: REINS_DATABASE_URL)')
    .option('--call-timeout <ms>', 'how long the upstream may take per call', '60000')
    .option('--approval-timeout <ms>', 'how long a held call waits for human approval', '300000')
    .option('--lock <file>', 'tool definition pins (commit it)', 'reins.lock')
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
        'SQLite audit commits: full = fsync each (survives a power cut), process = no fsync each (survives a crash of Reins only; docs/decisions/0010)',
      )
        .choices(['full', 'process'])
        .default('full'),
    )
    .argument('<command...>', 'the upstream MCP server to spawn, after `--`')
    .action(async (command: string[], options: McpOptions) => {
      exitCode = await runStdioGateway(options, command, io);
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
    .option('--db <file>', 'SQLite audit log to write', DEFAULT_AUDIT_PATH)
    .option(
      '--checkpoint-keys <dir>',
      'checkpoint key directory (default: REINS_CHECKPOINT_KEYS or .reins-keys/checkpoints)',
    )
    .option('--signing-key <file>', 'checkpoint key file instead, PKCS#8 PEM with mode 0600')
    .action(async (options: StoreOptions & { db: string }) => {
      let signingKey: ReturnType<typeof checkpointSigningKey>;
      try {
        signingKey = checkpointSigningKey(options, (line) => io.err(`reins demo: ${line}`));
      } catch (error) {
        io.err(`reins demo: ${describeError(error)}`);
        exitCode = EXIT_ERROR;
        return;
      }
      const publicKeys = verificationKey(options);
      exitCode = await runDemo({
        auditPath: options.db,
        signingKey,
        ...(publicKeys ? { publicKeys } : {}),
        write: io.out,
      });
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
