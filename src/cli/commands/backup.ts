/**
 * @module cli/commands/backup
 * The command tree of `reins backup` and `reins restore` (cli/backup-commands).
 */
import type { Command } from 'commander';
import type { BackupOptions, RestoreOptions } from '../backup-commands.js';
import { CHECKPOINT_KEYS_HELP, type CommandContext, storeOptions } from '../command-context.js';

const actions = () => import('../backup-commands.js');

/** `reins backup` and `reins restore`. */
export function registerBackupCommands(program: Command, context: CommandContext): void {
  const { io } = context;
  storeOptions(context, program.command('backup'))
    .description('back up the whole store (online: the gateway may run) into a new private directory')
    .requiredOption('--out <dir>', 'the backup directory to create (must not exist)')
    .option('--checkpoint-keys <dir>', `${CHECKPOINT_KEYS_HELP} (signs the backup's manifest)`)
    .option('--signing-key <file>', 'checkpoint key file instead, PKCS#8 PEM with mode 0600')
    .action(async (options: BackupOptions) => {
      context.exit(await (await actions()).takeBackup(options, io));
    });
  storeOptions(context, program.command('restore'), 'keys')
    .description(
      'restore the store from a backup (gateway stopped), record the restore and publish its checkpoint',
    )
    .argument('<backup>', 'a directory `reins backup` wrote')
    .requiredOption('--reason <text>', 'why (recorded)')
    .option(
      '--checkpoints <file|dir...>',
      'the published checkpoints, to name what the restore loses (default: the configured publication directory)',
    )
    .option(
      '--public-key <file...>',
      'trusted public key(s) the published checkpoints and the backup are checked with',
    )
    .option(
      '--no-publish',
      'do not publish the checkpoint over the restore record (a trial restore into another file)',
    )
    .option('--checkpoint-keys <dir>', CHECKPOINT_KEYS_HELP)
    .option('--signing-key <file>', 'checkpoint key file instead, PKCS#8 PEM with mode 0600')
    .action(async (backup: string, options: RestoreOptions) => {
      context.exit(await (await actions()).restoreBackup(backup, options, io));
    });
}
