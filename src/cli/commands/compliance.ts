/**
 * @module cli/commands/compliance
 * The command tree of `reins compliance` (cli/compliance-command).
 */
import type { Command } from 'commander';
import { type CommandContext, LOCK_HELP, storeOptions } from '../command-context.js';
import type { ScanOptions } from '../compliance-command.js';
import { isoTime } from '../option-values.js';

/** `reins compliance scan`. */
export function registerComplianceCommands(program: Command, context: CommandContext): void {
  const compliance = program.command('compliance').description('continuous compliance of a deployment');
  storeOptions(context, compliance.command('scan'))
    .description(
      'stale agents, unused grants (with a least-privilege policy), ownerless agents, uncatalogued or ungated tools, drifted pins, chain health, checkpoint and key age',
    )
    .option('--policy <path>', "the policy in force (default: the configuration's)")
    .option('--lock <file>', LOCK_HELP)
    .option('--format <format>', 'text, json or markdown', 'text')
    .option(
      '--recommend <file|dir>',
      'write the least-privilege policy there (a directory: compliance-least-privilege.yaml in it)',
    )
    .option(
      '--fail-on <severity>',
      'exit 1 on a finding at or above: low, medium, high, critical, or none',
      'low',
    )
    .option('--now <time>', 'judge ages at this time instead of now (ISO 8601 with a zone)', isoTime)
    .option('--unused-after <duration>', 'grants and agents unused this long are reported (default 30d)')
    .option('--key-max-age <duration>', 'signing keys older than this are reported (default 90d)')
    .option(
      '--checkpoint-max-age <duration>',
      'records waiting longer for a published checkpoint are reported (default 7d)',
    )
    .action(async (options: ScanOptions) => {
      const { complianceScan } = await import('../compliance-command.js');
      context.exit(await complianceScan(options, context.io));
    });
}
