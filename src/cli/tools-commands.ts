/**
 * @module cli/tools-commands
 * `reins tools list|approve`: the tool definitions pinned in `reins.lock`, the ones in quarantine
 * (changed since approval, or carrying instructions aimed at the model), and re-approving one after
 * review. The gateway picks an approval up on its next listing. The lock is the deployment's
 * (`--lock`, else the configuration's, else `reins.lock` beside the store: cli/deployment).
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { ToolPins } from '../gateway/tool-pinning.js';
import { describeError } from '../spec/errors.js';
import { type CommandContext, LOCK_HELP } from './command-context.js';
import { type CliIo, EXIT_ERROR, EXIT_FAILED, EXIT_OK } from './io.js';

export function listTools(options: { lock: string }, io: CliIo): number {
  try {
    // say which file was read: an empty listing of the wrong lock looks like a clean one
    if (!existsSync(options.lock)) {
      io.out(
        `no tool definitions pinned in ${options.lock} yet (a gateway pins them when it first sees them)`,
      );
      return EXIT_OK;
    }
    const pins = ToolPins.load(options.lock, { autoSave: false });
    const quarantined = pins.quarantined();
    for (const tool of pins.pinned())
      io.out(
        `pinned       ${tool.key.padEnd(40)} ${tool.fingerprint.slice(0, 23)}  approved by ${tool.approvedBy}`,
      );
    for (const tool of quarantined) {
      const flags =
        tool.findings.length > 0
          ? ` (flagged: ${[...new Set(tool.findings.map((finding) => finding.code))].join(', ')})`
          : '';
      io.out(`QUARANTINED  ${tool.key.padEnd(40)} ${tool.reason}${flags}`);
    }
    return quarantined.length > 0 ? EXIT_FAILED : EXIT_OK;
  } catch (error) {
    io.err(`reins tools: ${describeError(error)}`);
    return EXIT_ERROR;
  }
}

export function approveTool(key: string, options: { lock: string; by: string }, io: CliIo): number {
  try {
    const pins = ToolPins.load(options.lock, { autoSave: false });
    const waiting = pins.quarantined().find((tool) => tool.key === key);
    if (waiting === undefined) {
      io.err(`reins tools: \`${key}\` is not in quarantine (see \`reins tools list\`)`);
      return EXIT_ERROR;
    }
    pins.approve(key, options.by, waiting.fingerprint);
    pins.save();
    io.out(
      `approved ${key} (${waiting.fingerprint}) by ${options.by}; the gateway uses it from its next tool listing`,
    );
    return EXIT_OK;
  } catch (error) {
    io.err(`reins tools: ${describeError(error)}`);
    return EXIT_ERROR;
  }
}

/** `reins tools list|approve`. */
export function registerToolsCommands(program: Command, context: CommandContext): void {
  const { io } = context;
  const tools = program.command('tools').description('tool definition pins (reins.lock) and quarantine');
  context
    .onDeployment(tools.command('list'), 'lock')
    .description('pinned and quarantined tools; exits 1 when any is in quarantine')
    .option('--lock <file>', LOCK_HELP)
    .action((options: { lock: string }) => {
      context.exit(listTools(options, io));
    });
  context
    .onDeployment(tools.command('approve'), 'lock')
    .description('re-approve a quarantined tool after reviewing its definition')
    .argument('<tool>', '<upstream>/<name>, as `reins tools list` shows it')
    .requiredOption('--by <human>', 'who reviewed it')
    .option('--lock <file>', LOCK_HELP)
    .action((key: string, options: { lock: string; by: string }) => {
      context.exit(approveTool(key, options, io));
    });
}
