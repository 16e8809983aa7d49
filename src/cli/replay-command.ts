/**
 * @module cli/replay-command
 * `reins replay --format <agentdojo|openai|audit-log> --policy <path> <source> --out <decisions.jsonl>`:
 * runs recorded traces through the same pipeline as production and writes one line per tool call,
 * `{"trace","index","decision"}`, with a summary (counts, per environment, calls/s) on stderr.
 * An audit log (a SQLite file or a `postgres://` URL) is replayed as recorded traffic instead: every
 * call with its full principal against the session state as it was (policy/recorded-traffic), each
 * line also carrying the `recorded` decision; `reins policy diff` compares two policies the same way.
 * With `--db <file>` the replay keeps the audit log it wrote (a new SQLite file) instead of discarding
 * it: every call's intent and outcome, with its argument provenance, readable with `reins audit` and
 * replayable itself as recorded traffic.
 */

import { closeSync, existsSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { readTraffic } from '../inspect/recorded-traffic-reader.js';
import { loadPolicy } from '../loader/policy-files.js';
import { monitorResponder } from '../oversight/monitor-response.js';
import { StoreOversight } from '../oversight/store-oversight.js';
import { formatProblem } from '../policy/policy-problem.js';
import { RecordedTraffic } from '../policy/recorded-traffic.js';
import { AgentDojoImporter } from '../replay/agentdojo-importer.js';
import { OpenAiImporter } from '../replay/openai-importer.js';
import { replay } from '../replay/replay-runner.js';
import type { TraceImporter } from '../replay/trace.js';
import { describeError } from '../spec/errors.js';
import type { MonitorListener } from '../spec/monitor.js';
import type { AuditLog } from '../store/audit-log.js';
import { PRIVATE_FILE_MODE } from '../store/private-files.js';
import { SqliteAuditLog } from '../store/sqlite/sqlite-audit-log.js';
import {
  databaseUrlOf,
  openIdentityStore,
  openOversightStores,
  openReadableAuditLog,
  openWritableAuditLog,
  type StoreOptions,
  storeOfLog,
} from './audit-store.js';
import { type CliIo, EXIT_ERROR, EXIT_FAILED, EXIT_OK } from './io.js';

export interface ReplayCommandOptions {
  readonly format: string;
  readonly policy: string;
  readonly out: string;
  readonly concurrency?: string;
  readonly explain?: boolean;
  /** Keep the replay's audit log in this new SQLite file (default: in memory, discarded). */
  readonly db?: string;
}

const IMPORTERS: Record<string, () => TraceImporter> = {
  agentdojo: () => new AgentDojoImporter(),
  openai: () => new OpenAiImporter(),
};

export async function runReplay(source: string, options: ReplayCommandOptions, io: CliIo): Promise<number> {
  if (options.format === 'audit-log') {
    if (options.db !== undefined) {
      io.err('--db keeps the log a replay of traces writes; --format audit-log only reads its source');
      return EXIT_ERROR;
    }
    return replayAuditLog(source, options, io);
  }
  const makeImporter = IMPORTERS[options.format];
  if (makeImporter === undefined) {
    io.err(
      `unknown --format \`${options.format}\`: use one of ${[...Object.keys(IMPORTERS), 'audit-log'].join(', ')}`,
    );
    return EXIT_ERROR;
  }
  const concurrency = options.concurrency === undefined ? 8 : Number(options.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    io.err(`--concurrency must be a positive integer, got \`${options.concurrency}\``);
    return EXIT_ERROR;
  }
  const openAudit = await replayAudit(options.db, io);
  if (typeof openAudit === 'string') {
    io.err(openAudit);
    return EXIT_ERROR;
  }
  const monitor = replayMonitor(options.db, openAudit, io);
  let out: number;
  try {
    out = openSync(options.out, 'w', PRIVATE_FILE_MODE);
  } catch (error) {
    io.err(`cannot write \`${options.out}\`: ${describeError(error)}`);
    return EXIT_ERROR;
  }
  let problems = 0;
  try {
    const buffered: string[] = [];
    const summary = await replay({
      importer: makeImporter(),
      source,
      policy: options.policy,
      concurrency,
      explain: options.explain === true,
      openAudit,
      onDecision: (line) => {
        buffered.push(JSON.stringify(line));
        if (buffered.length >= 1_000) writeSync(out, `${buffered.splice(0).join('\n')}\n`);
      },
      onProblem: (message) => {
        problems++;
        if (problems <= 20) io.err(`problem: ${message}`);
      },
      onMonitorFindings: monitor.onFindings,
    });
    if (buffered.length > 0) writeSync(out, `${buffered.join('\n')}\n`);
    const rate = summary.seconds > 0 ? Math.round(summary.calls / summary.seconds) : summary.calls;
    io.err(
      `replayed ${summary.traces} traces, ${summary.calls} calls in ${summary.seconds.toFixed(1)} s (${rate} calls/s): ` +
        `allow ${summary.decisions.allow}, approve ${summary.decisions.approve}, deny ${summary.decisions.deny}`,
    );
    for (const [environment, counts] of Object.entries(summary.byEnvironment).sort()) {
      io.err(`  ${environment}: ${counts.traces} traces, ${counts.calls} calls, ${counts.flagged} flagged`);
    }
    const rules = Object.entries(summary.rules).sort((left, right) => right[1] - left[1]);
    if (rules.length > 0)
      io.err(`  flagged by: ${rules.map(([rule, count]) => `${rule} ${count}`).join(', ')}`);
    const { monitor: found } = summary;
    if (found.findings > 0)
      io.err(
        `  monitor: ${found.findings} finding(s) in ${found.sessions} session(s), ${found.stopped} stopped; ` +
          Object.entries(found.rules)
            .sort((left, right) => right[1] - left[1])
            .map(([rule, count]) => `${rule} ${count}`)
            .join(', '),
      );
    if (problems > 0) io.err(`${problems} problem(s); affected calls were written as deny`);
    if (options.db !== undefined) io.err(`audit log kept in ${options.db}`);
  } catch (error) {
    io.err(`replay failed: ${describeError(error)}`);
    return EXIT_ERROR;
  } finally {
    closeSync(out);
    await monitor.close();
  }
  return problems > 0 ? EXIT_FAILED : EXIT_OK;
}

/**
 * Where the replay records: a log in memory per policy, or with `--db` one new SQLite file that every
 * policy's harness records into (their sessions are distinct: `replay:<trace>`), opened as every
 * command opens a store file: checkpoints signed with the checkpoint key beside it (created on first
 * use), so `reins audit verify --db` checks it like any log. An existing file is refused: its sessions
 * would continue with another run's past and decide differently. Its commits are not fsynced
 * (durability `process`, decision 0010): a replay that a power cut interrupts is run again, and an
 * fsync per commit made the AgentDojo dev set's replay ~4x slower (58 s, not 16 s).
 */
async function replayAudit(db: string | undefined, io: CliIo): Promise<(() => AuditLog) | string> {
  if (db === undefined) return () => new SqliteAuditLog({ path: ':memory:' });
  if (existsSync(db))
    return `--db \`${db}\` exists: a replay keeps its log in a new file (remove it or name another)`;
  const store: StoreOptions = { db, durability: 'process' };
  // the environment's shared store would win over the file (cli/audit-store): never replay into it
  if (databaseUrlOf(store) !== undefined)
    return "--db keeps the replay's log in a SQLite file, but REINS_DATABASE_URL names a shared store: unset it for the replay";
  try {
    const log = await openWritableAuditLog(store, {}, (line) => io.err(`reins replay: ${line}`));
    return () => log;
  } catch (error) {
    return `cannot keep the audit log in \`${db}\`: ${describeError(error)}`;
  }
}

/**
 * What the replay does with the monitor's findings: with `--db`, a pause or suspension is carried out
 * through oversight on that file (on record as an operator action of `reins:monitor`, as a gateway
 * would); in memory, it is only reported. Either way the stop is in the log and the session's later
 * calls are refused by it.
 */
function replayMonitor(
  db: string | undefined,
  openAudit: () => AuditLog,
  io: CliIo,
): { onFindings: MonitorListener; close(): Promise<void> } {
  const log = (line: string) => io.err(`reins replay: ${line}`);
  if (db === undefined) return { onFindings: monitorResponder({ log }), close: async () => {} };
  const store: StoreOptions = { db, durability: 'process' };
  let opened: Promise<{ oversight: StoreOversight; close(): Promise<void> }> | undefined;
  const open = () => {
    opened ??= (async () => {
      const stores = await openOversightStores(store);
      const identities = await openIdentityStore(store);
      const oversight = new StoreOversight({
        approvals: stores.approvals,
        sessions: stores.sessions,
        identities,
        audit: openAudit(),
      });
      return { oversight, close: async () => void (await Promise.all([stores.close(), identities.close()])) };
    })();
    return opened;
  };
  return {
    onFindings: monitorResponder({ oversight: async () => (await open()).oversight, log }),
    close: async () => {
      if (opened !== undefined) await (await opened).close();
    },
  };
}

/** Backtesting on our own log: each recorded call decided again, as it was, beside its recorded decision. */
async function replayAuditLog(source: string, options: ReplayCommandOptions, io: CliIo): Promise<number> {
  const loaded = loadPolicy(options.policy);
  if (!loaded.ok) {
    for (const problem of loaded.problems) io.err(formatProblem(problem));
    return EXIT_ERROR;
  }
  const store = storeOfLog(source);
  let problems = 0;
  const lines: string[] = [];
  const counts = { allow: 0, deny: 0, approve: 0, changed: 0 };
  try {
    const log = await openReadableAuditLog(store);
    try {
      const records = await readTraffic(log, (seq, message) => {
        problems++;
        if (problems <= 20) io.err(`problem: record ${seq}: ${message}`);
      });
      const indexes = new Map<string, number>();
      new RecordedTraffic([loaded.policy]).replay(records, ({ intent }, [decision]) => {
        if (decision === undefined) return;
        const index = indexes.get(intent.sessionId) ?? 0;
        indexes.set(intent.sessionId, index + 1);
        counts[decision.effect]++;
        if (decision.effect !== intent.decision.effect) counts.changed++;
        const line: Record<string, unknown> = {
          trace: intent.sessionId,
          index,
          decision: decision.effect,
          recorded: intent.decision.effect,
        };
        if (options.explain && decision.effect !== 'allow') {
          line.tool = `${intent.tool.server}/${intent.tool.name}`;
          line.reasons = decision.reasons;
        }
        lines.push(JSON.stringify(line));
      });
    } finally {
      await log.close().catch(() => undefined);
    }
    writeFileSync(options.out, lines.length > 0 ? `${lines.join('\n')}\n` : '', { mode: PRIVATE_FILE_MODE });
  } catch (error) {
    io.err(`replay failed: ${describeError(error)}`);
    return EXIT_ERROR;
  }
  io.err(
    `replayed ${lines.length} recorded calls: allow ${counts.allow}, approve ${counts.approve}, deny ${counts.deny}; ${counts.changed} decided differently from the record`,
  );
  return problems > 0 ? EXIT_FAILED : EXIT_OK;
}
