/**
 * @module cli/decide-command
 * `reins decide --policy <path> --call <json|@file>`: decides one call against a policy, in a fresh
 * session, and prints the Decision as JSON. Nothing runs and nothing is recorded.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadPolicy } from '../loader/policy-files.js';
import { formatProblem } from '../policy/policy-problem.js';
import { WindowCounters } from '../policy/window-counters.js';
import { describeError } from '../spec/errors.js';
import { ToolCallSchema } from '../spec/tool-call.js';
import { CONFIG_FLAG, CONFIG_HELP, type CommandContext, deploymentPolicy } from './command-context.js';
import { type CliIo, EXIT_ERROR, EXIT_FAILED, EXIT_OK } from './io.js';

export function decide(options: { policy: string; call: string }, io: CliIo): number {
  let text = options.call;
  try {
    if (text.startsWith('@')) text = readFileSync(text.slice(1), 'utf8');
  } catch (error) {
    io.err(`cannot read call file \`${options.call.slice(1)}\`: ${describeError(error)}`);
    return EXIT_ERROR;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    io.err(`--call is not valid JSON: ${describeError(error)}`);
    return EXIT_ERROR;
  }
  const call = ToolCallSchema.safeParse(json);
  if (!call.success) {
    for (const issue of call.error.issues)
      io.err(`invalid call: \`${issue.path.join('.') || '(root)'}\`: ${issue.message}`);
    return EXIT_ERROR;
  }
  const loaded = loadPolicy(options.policy);
  if (!loaded.ok) {
    for (const problem of loaded.problems) io.err(formatProblem(problem));
    return EXIT_FAILED;
  }
  const now = Date.now();
  const session = {
    id: call.data.sessionId,
    status: 'active' as const,
    startedAt: now,
    history: [],
    labels: [],
  };
  const decision = loaded.policy.evaluate({ call: call.data, session, counters: new WindowCounters(), now });
  io.out(JSON.stringify(decision, null, 2));
  return EXIT_OK;
}

/** `reins decide`. */
export function registerDecideCommand(program: Command, context: CommandContext): void {
  const { io } = context;
  program
    .command('decide')
    .description('decide one call against a policy and print the Decision as JSON (nothing runs)')
    .option('--policy <path>', "policy file or directory (default: the deployment's policy)")
    .option(CONFIG_FLAG, CONFIG_HELP)
    .requiredOption(
      '--call <json|@file>',
      'the call: {"principal":{"agentId":..},"tool":{"server":..,"name":..},"args":{..}}',
    )
    .action((options: { policy?: string; config?: string; call: string }) => {
      const policy = options.policy ?? deploymentPolicy('decide', options, io)?.[0];
      context.exit(policy === undefined ? EXIT_ERROR : decide({ policy, call: options.call }, io));
    });
}
