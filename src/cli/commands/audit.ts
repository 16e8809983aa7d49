/**
 * @module cli/commands/audit
 * The command tree of `reins audit` (cli/audit-commands).
 */
import type { Command } from 'commander';
import type { QueryOptions, TraceCommandOptions, VerifyOptions } from '../audit-commands.js';
import type { StoreOptions } from '../audit-store.js';
import { CHECKPOINT_KEYS_HELP, type CommandContext, storeOptions } from '../command-context.js';
import type { DeploymentUse } from '../deployment.js';
import {
  AUDIT_EFFECT_HELP,
  AUDIT_KIND_HELP,
  auditEffect,
  auditKind,
  isoTime,
  positiveInteger,
  sequenceNumber,
} from '../option-values.js';

const actions = () => import('../audit-commands.js');

/** `reins audit verify|query|show-session|trace|export|public-key|checkpoint|prune`. */
export function registerAuditCommands(program: Command, context: CommandContext): void {
  const { io } = context;
  const audit = program.command('audit').description('inspect, verify and maintain the audit log');
  const auditStore = (command: Command, use: DeploymentUse = 'store') =>
    storeOptions(context, command, use)
      .option('--checkpoint-keys <dir>', CHECKPOINT_KEYS_HELP)
      .option('--signing-key <file>', 'checkpoint key file instead, PKCS#8 PEM with mode 0600');
  auditStore(audit.command('verify'))
    .description('verify the hash chain and signed checkpoints; names the first bad record')
    .option(
      '--public-key <file...>',
      'trusted public key(s) to check checkpoint signatures with, kept away from the log (default: from the signing key)',
    )
    .option(
      '--checkpoints <file|dir...>',
      'published checkpoints (JSON Lines file or publication directory) the log must agree with',
    )
    .option(
      '--checkpoint <file...>',
      'checkpoints kept outside the log (one JSON each), to detect a cut tail',
    )
    .option(
      '--checkpoint-every <n>',
      "the cadence checkpoints are signed at (default: the configuration's audit.checkpoints.every, else 1000)",
      positiveInteger,
    )
    .action(async (options: VerifyOptions) => {
      context.exit(await (await actions()).verifyAudit(options, io));
    });
  auditStore(audit.command('query'))
    .description('list records by agent, session, tool, effect, kind and time')
    .option('--agent <id>')
    .option('--session <id>')
    .option('--tool <server/name>')
    .option('--effect <effect>', AUDIT_EFFECT_HELP, auditEffect)
    .option('--kind <kind>', AUDIT_KIND_HELP, auditKind)
    .option(
      '--from <time>',
      'ISO 8601 date or date-time with a zone (2026-12-06, 2026-12-06T10:00:00Z), inclusive',
      isoTime,
    )
    .option('--to <time>', 'ISO 8601 date or date-time with a zone, exclusive', isoTime)
    .option('--after <seq>', 'only records after this sequence number', sequenceNumber)
    .option('--limit <n>', 'most records (default 1000, at most 10000)', positiveInteger)
    .option('--format <format>', 'table or json (one record per line)', 'table')
    .action(async (options: QueryOptions) => {
      context.exit(await (await actions()).queryAudit(options, io));
    });
  auditStore(audit.command('show-session'))
    .description('reconstruct a session step by step, with decisions, outcomes and provenance')
    .argument('<session>', 'session id')
    .option('--format <format>', 'table or json', 'table')
    .action(async (session: string, options: StoreOptions & { format: string }) => {
      context.exit(await (await actions()).showSession(session, options, io));
    });
  auditStore(audit.command('trace'))
    .description(
      "follow a call's argument values back to where they came from: the user's request, untrusted content, or the model",
    )
    .argument(
      '<decision-id>',
      'the decision id of the call (as `audit query` and `audit show-session` print it)',
    )
    .option(
      '--session <id>',
      "the call's session, if known (otherwise the call is searched for in the whole log)",
    )
    .option('--format <format>', 'text or json', 'text')
    .action(async (decisionId: string, options: TraceCommandOptions) => {
      context.exit(await (await actions()).traceCall(decisionId, options, io));
    });
  auditStore(audit.command('export'))
    .description(
      'export records and checkpoints as JSON Lines (re-verifiable elsewhere) or to an OTLP/HTTP collector',
    )
    .option('--format <format>', 'jsonl or otlp', 'jsonl')
    .option('--out <file>', 'write JSON Lines to a new file instead of standard output')
    .option('--after <seq>', 'only records after this sequence number', sequenceNumber)
    .option('--otlp-url <url>', 'OTLP/HTTP logs endpoint, e.g. http://127.0.0.1:4318/v1/logs')
    .action(
      async (options: StoreOptions & { format: string; out?: string; after?: number; otlpUrl?: string }) => {
        context.exit(await (await actions()).exportAudit(options, io));
      },
    );
  auditStore(audit.command('public-key'), 'keys')
    .description('print the public key that verifies checkpoint signatures (keep a copy away from the log)')
    .action(async (options: StoreOptions) => {
      context.exit((await actions()).showPublicKey(options, io));
    });
  auditStore(audit.command('checkpoint'))
    .description('sign a checkpoint of the current head now and print it (store it elsewhere)')
    .action(async (options: StoreOptions) => {
      context.exit(await (await actions()).signCheckpoint(options, io));
    });
  auditStore(audit.command('prune'))
    .description('retention: delete records up to the newest checkpoint older than the cut-off')
    .requiredOption('--older-than <duration>', 'e.g. 90d')
    .action(async (options: StoreOptions & { olderThan: string }) => {
      context.exit(await (await actions()).pruneAudit(options, io));
    });
}
