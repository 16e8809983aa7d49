/**
 * @module cli/main
 * The `reins` command line. Each command lives in its own module; this file only wires options.
 * `runCli` never calls process.exit, so tests can run it in-process.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { runDemo } from '../demo/run-demo.js';
import { describeError } from '../spec/errors.js';
import { verifyAudit } from './audit-commands.js';
import { decide } from './decide-command.js';
import { type CliIo, DEFAULT_AUDIT_PATH, EXIT_ERROR, EXIT_OK, processIo } from './io.js';
import { checkPolicies, testPolicies } from './policy-commands.js';

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

  const audit = program.command('audit').description('inspect the audit log');
  audit
    .command('verify')
    .description('verify the hash chain; reports the first edited, deleted or reordered record')
    .option('--db <file>', 'SQLite audit log', DEFAULT_AUDIT_PATH)
    .action(async (options: { db: string }) => {
      exitCode = await verifyAudit(options, io);
    });

  program
    .command('demo')
    .description('run incident scenarios without and with Reins, and show the audit trail')
    .option('--db <file>', 'SQLite audit log to write', DEFAULT_AUDIT_PATH)
    .action(async (options: { db: string }) => {
      exitCode = await runDemo({ auditPath: options.db, write: io.out });
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
