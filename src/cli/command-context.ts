/**
 * @module cli/command-context
 * What each command group's registration (`registerAuditCommands(program, context)`, ...) works with:
 * where to write, how to set the exit code `runCli` resolves to, how to mark a command as acting on a
 * deployment, and the options several groups share, so that the same flag has the same help text
 * wherever it appears. Every command line builds the whole tree (`reins --help` too), so this module
 * and the registrations in commands/ load only commander: what an action needs loads when it runs.
 */
import { type Command, Option } from 'commander';
import type { DeploymentUse } from './deployment.js';
import type { CliIo } from './io.js';

/** The environment variable that names the deployment's reins.yaml (cli/deployment). */
export const CONFIG_ENV = 'REINS_CONFIG';
export const CONFIG_FLAG = '--config <file>';
export const CONFIG_HELP = `the deployment's reins.yaml (default: ${CONFIG_ENV}, else ./reins.yaml if there is one)`;
export const DB_HELP = "SQLite store (default: the configuration's, else .reins/audit.db)";
export const DATABASE_URL_HELP = 'PostgreSQL connection string (default: REINS_DATABASE_URL)';
export const CHECKPOINT_KEYS_HELP =
  'checkpoint key directory (default: REINS_CHECKPOINT_KEY(S), else .reins-keys/checkpoints beside reins.yaml or the SQLite store; PostgreSQL: none, name one)';
export const CREDENTIAL_KEYS_FLAG = '--credential-keys <dir>';
export const CREDENTIAL_KEYS_HELP =
  'credential key directory (default: REINS_CREDENTIAL_KEY(S), else .reins-keys/credentials beside reins.yaml or the SQLite store; PostgreSQL: none, name one)';
export const LOCK_HELP =
  "tool definition pins (default: the configuration's lock, else reins.lock beside the store)";

export interface CommandContext {
  readonly io: CliIo;
  /** Sets the exit code `runCli` resolves to. */
  exit(code: number): void;
  /**
   * Marks `command` as acting on a deployment (and gives it `--config`): before its action runs, its
   * options get the store, keys, lock and policy the deployment names (cli/deployment), or it stops.
   */
  onDeployment(command: Command, use: DeploymentUse): Command;
}

/** A command on a deployment's store: `--db` and `--database-url` after `--config`. */
export function storeOptions(
  context: CommandContext,
  command: Command,
  use: DeploymentUse = 'store',
): Command {
  return context
    .onDeployment(command, use)
    .option('--db <file>', DB_HELP)
    .option('--database-url <url>', DATABASE_URL_HELP);
}

/**
 * Who acts comes from a user API token (cli/operator-auth); the old identity options are parsed only
 * to refuse them with a message that says how to authenticate.
 */
export function withOperator(command: Command): Command {
  return command
    .option(
      '--token-file <path>',
      'file with your user API token (default: the REINS_TOKEN environment variable)',
    )
    .addOption(new Option('--as <id>').hideHelp())
    .addOption(new Option('--role <list>').hideHelp())
    .addOption(new Option('--by <human>').hideHelp());
}
