/**
 * @module cli/commands/demo
 * The command tree of `reins demo` (cli/demo-command).
 */
import type { Command } from 'commander';
import type { CommandContext } from '../command-context.js';
import type { DemoCommandOptions } from '../demo-command.js';
import { DEMO_AUDIT_PATH } from '../io.js';

/** `reins demo`. */
export function registerDemoCommand(program: Command, context: CommandContext): void {
  program
    .command('demo')
    .description('run incident scenarios without and with Reins, and show the audit trail')
    .option('--db <file>', "the demo's own SQLite audit log (not a deployment's)", DEMO_AUDIT_PATH)
    .option(
      '--checkpoint-keys <dir>',
      'checkpoint key directory (default: REINS_CHECKPOINT_KEY(S), else .reins-keys/checkpoints beside .reins/)',
    )
    .option('--signing-key <file>', 'checkpoint key file instead, PKCS#8 PEM with mode 0600')
    .action(async (options: DemoCommandOptions) => {
      const { runDemoCommand } = await import('../demo-command.js');
      context.exit(await runDemoCommand(options, context.io));
    });
}
