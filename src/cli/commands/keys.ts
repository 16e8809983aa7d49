/**
 * @module cli/commands/keys
 * The command tree of `reins keys` (cli/key-commands).
 */
import type { Command } from 'commander';
import {
  CHECKPOINT_KEYS_HELP,
  type CommandContext,
  CREDENTIAL_KEYS_FLAG,
  CREDENTIAL_KEYS_HELP,
} from '../command-context.js';
import type { DeploymentUse } from '../deployment.js';
import type { KeyCommandOptions } from '../key-commands.js';

const actions = () => import('../key-commands.js');

/** `reins keys generate|rotate|show`. */
export function registerKeyCommands(program: Command, context: CommandContext): void {
  const { io } = context;
  const keys = program
    .command('keys')
    .description('signing keys of credentials and checkpoints, kept apart from the store (docs/identity.md)');
  const keyOptions = (command: Command, use: DeploymentUse) =>
    context
      .onDeployment(command, use)
      .option(CREDENTIAL_KEYS_FLAG, CREDENTIAL_KEYS_HELP)
      .option('--checkpoint-keys <dir>', CHECKPOINT_KEYS_HELP);
  keyOptions(keys.command('generate'), 'start')
    .description('create key directories (0700) with a new key (0600); refuses one that has a key')
    .option('--purpose <purpose>', 'credentials or checkpoints (default: both)')
    .action(async (options: KeyCommandOptions) => {
      context.exit((await actions()).generateKeys(options, io));
    });
  keyOptions(keys.command('rotate'), 'keys')
    .description(
      'sign with a new key; the old one verifies (credentials: until its tokens expire; checkpoints: for good)',
    )
    .requiredOption('--purpose <purpose>', 'credentials or checkpoints')
    .action(async (options: KeyCommandOptions) => {
      context.exit((await actions()).rotateKeys(options, io));
    });
  keyOptions(keys.command('show'), 'keys')
    .description('key ids and public keys (nothing secret)')
    .option('--purpose <purpose>', 'credentials or checkpoints (default: both)')
    .action(async (options: KeyCommandOptions) => {
      context.exit((await actions()).showKeys(options, io));
    });
}
