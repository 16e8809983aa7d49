/**
 * @module cli/tools-commands
 * `reins tools list|approve`: the tool definitions pinned in `reins.lock`, the ones in quarantine
 * (changed since approval, or carrying instructions aimed at the model), and re-approving one after
 * review. The gateway picks an approval up on its next listing. The lock is the deployment's
 * (`--lock`, else the configuration's, else `reins.lock` beside the store: cli/deployment).
 */
import { existsSync } from 'node:fs';
import { ToolPins } from '../gateway/tool-pinning.js';
import { describeError } from '../spec/errors.js';
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
