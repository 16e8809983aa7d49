/**
 * @module cli/main
 * The `reins` command line. Each command group registers itself from its own module in commands/
 * (`registerAuditCommands`, ...); this file builds the program, resolves the deployment a command acts
 * on before its action runs, and turns errors into exit codes. `runCli` never calls process.exit, so
 * tests can run it in-process. Building the tree loads only commander (`reins --help` answers at once,
 * and a desktop client starts `reins mcp` for every conversation): each action imports what it needs
 * when it runs, and so does the resolution of the deployment.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { describeError } from '../spec/errors.js';
import { CONFIG_FLAG, CONFIG_HELP, type CommandContext } from './command-context.js';
import { registerAgentCommands } from './commands/agents.js';
import { registerAuditCommands } from './commands/audit.js';
import { registerBackupCommands } from './commands/backup.js';
import { registerComplianceCommands } from './commands/compliance.js';
import { registerDecideCommand } from './commands/decide.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerGatewayCommand } from './commands/gateway.js';
import { registerKeyCommands } from './commands/keys.js';
import { registerMcpCommand } from './commands/mcp.js';
import { registerOversightCommands } from './commands/oversight.js';
import { registerPolicyCommands } from './commands/policy.js';
import { registerPostureCommand } from './commands/posture.js';
import { registerReplayCommand } from './commands/replay.js';
import { registerRollbackCommand } from './commands/rollback.js';
import { registerServeCommand } from './commands/serve.js';
import { registerToolsCommands } from './commands/tools.js';
import { registerUserCommands } from './commands/users.js';
import type { DeploymentUse } from './deployment.js';
import { type CliIo, describeFully, EXIT_ERROR, EXIT_OK, processIo } from './io.js';

/** The package's version, from its package.json two levels up (from src/cli/, dist/cli/ or dist/bundle/). */
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
  const context: CommandContext = {
    io,
    exit: (code) => {
      exitCode = code;
    },
    onDeployment: deploymentResolution(program, io),
  };

  // the order of the groups is the order of `reins --help`
  registerPolicyCommands(program, context);
  registerDecideCommand(program, context);
  registerAuditCommands(program, context);
  registerBackupCommands(program, context);
  registerAgentCommands(program, context);
  registerKeyCommands(program, context);
  registerOversightCommands(program, context);
  registerRollbackCommand(program, context);
  registerGatewayCommand(program, context);
  registerServeCommand(program, context);
  registerUserCommands(program, context);
  registerToolsCommands(program, context);
  registerComplianceCommands(program, context);
  registerMcpCommand(program, context);
  registerReplayCommand(program, context);
  registerPostureCommand(program, context);

  registerDemoCommand(program, context);

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
 * One resolution of the deployment for every command that acts on one (cli/deployment): before its
 * action runs, a marked command's options get the store, keys, lock and policy it names; one that
 * needs an existing deployment and finds none stops here, before it opens (and creates) anything.
 * Returns how a command is marked.
 */
function deploymentResolution(program: Command, io: CliIo): CommandContext['onDeployment'] {
  const uses = new WeakMap<Command, DeploymentUse>();
  program.hook('preAction', async (_program, action) => {
    const use = uses.get(action);
    if (use === undefined) return;
    const { deploymentOptionValues } = await import('./deployment.js');
    try {
      for (const [key, value] of Object.entries(deploymentOptionValues(use, action.opts())))
        action.setOptionValue(key, value);
    } catch (error) {
      io.err(`reins ${commandPath(action)}: ${describeFully(error)}`);
      throw new CommanderError(EXIT_ERROR, 'reins.deployment', 'no deployment');
    }
  });
  return (command, use) => {
    uses.set(command, use);
    return command.option(CONFIG_FLAG, CONFIG_HELP);
  };
}

/** `audit query`, `agents token`, ...: the command as typed, without `reins`. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at?.parent; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}
