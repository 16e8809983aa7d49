/**
 * @module cli/posture-command
 * `reins posture [--config <reins.yaml>] [--agent <id>] [--format text|json|markdown]` (issue 19): the
 * posture score of a deployment and its agents (inspect/posture). Composes the evidence the score
 * needs: the configuration and its policy files, the registered agents and the audit log with the
 * deployment's checkpoint key. A deployment that has not started (no store yet) is still scored, from
 * its configuration; every point that needs the log is then missing and says why. Also composes the
 * same report for the control API (`GET /v1/posture`) from a running deployment's stores.
 */
import { existsSync } from 'node:fs';
import { scorePosture } from '../inspect/posture.js';
import { formatPostureMarkdown, formatPostureText } from '../inspect/posture-format.js';
import { readPostureLog } from '../inspect/posture-log.js';
import type { AgentsReading, LogReading, PostureReport } from '../inspect/posture-model.js';
import { readPolicySources } from '../loader/policy-files.js';
import { hashSources, type PolicySource } from '../policy/compile-policy.js';
import type { AuditCheckpointV1 } from '../spec/audit-checkpoint.js';
import { describeError, ReinsError } from '../spec/errors.js';
import type { GatewayConfig } from '../spec/gateway-config.js';
import type { AuditLog } from '../store/audit-log.js';
import type { IdentityStore } from '../store/state-stores.js';
import {
  databaseUrlOf,
  describeStore,
  openIdentityStore,
  openReadableAuditLog,
  type StoreOptions,
  storeOptionsOfConfig,
  verificationKey,
} from './audit-store.js';
import { checkpointPublication } from './compliance-sources.js';
import { loadConfigOrThrow } from './deployment.js';
import { type CliIo, EXIT_ERROR, EXIT_OK } from './io.js';

const FORMATS = ['text', 'json', 'markdown'] as const;
type Format = (typeof FORMATS)[number];

export interface PostureOptions {
  readonly config: string;
  readonly agent?: string;
  readonly format: string;
}

/** The policy files a configuration names, as written; a policy that cannot be read is an error. */
export function policySourcesOf(config: GatewayConfig): PolicySource[] {
  const read = readPolicySources(config.policy);
  if (!read.ok)
    throw new ReinsError('invalid_input', `the policy \`${config.policy}\` cannot be read: ${read.message}`);
  return read.sources;
}

/**
 * The checkpoints published to a directory, which the chain must agree with and reach (as in the
 * compliance scan); a webhook or OTLP target cannot be read back.
 */
export function publishedCheckpoints(config: GatewayConfig): AuditCheckpointV1[] {
  return checkpointPublication(config.audit.checkpoints.publish).published ?? [];
}

/** The evidence of a running deployment's stores (the control API's composition). */
export async function postureOfStores(
  configFile: string,
  config: GatewayConfig,
  stores: { readonly audit: AuditLog; readonly identity: IdentityStore; readonly where: string },
  options: {
    readonly agentId?: string;
    readonly publicKey?: Parameters<typeof readPostureLog>[1]['publicKey'];
    /** The hash of the policy in force: the files scored must be that policy. */
    readonly inForceHash?: string;
  },
): Promise<PostureReport> {
  const sources = policySourcesOf(config);
  if (options.inForceHash !== undefined) assertInForce(sources, options.inForceHash);
  const agents: AgentsReading = { available: true, agents: await stores.identity.listAgents() };
  // before the log is read: asking for names that are not agents must cost no chain verification
  if (options.agentId !== undefined && !agents.agents.some((agent) => agent.id === options.agentId))
    throw new ReinsError('not_found', `no agent \`${options.agentId}\` to score: it is not registered`);
  const evidence = await readPostureLog(stores.audit, {
    where: stores.where,
    checkpointEvery: config.audit.checkpoints.every,
    published: publishedCheckpoints(config),
    ...(options.publicKey !== undefined ? { publicKey: options.publicKey } : {}),
  });
  return scorePosture({
    configFile,
    config,
    sources,
    agents,
    log: { available: true, evidence },
    ...(options.agentId !== undefined ? { agentId: options.agentId } : {}),
  });
}

/**
 * The score is of the policy the gateway enforces, or of none: files edited since (a reload rejected
 * or not yet done) would score a policy no call is decided by. The texts in force are not kept, so the
 * files are scored when their hash is the one in force, and otherwise the score is refused.
 */
function assertInForce(sources: readonly PolicySource[], inForceHash: string): void {
  const onDisk = hashSources(sources);
  if (onDisk !== inForceHash)
    throw new ReinsError(
      'conflict',
      `the policy files (${onDisk}) are not the policy in force (${inForceHash}): their last reload was rejected or has not happened yet (\`GET /v1/policy\` shows how it went); the score is of the policy in force only`,
    );
}

/** Scores the deployment of a configuration file, opening its stores read-only if they exist. */
export async function postureOfConfig(configFile: string, agentId?: string): Promise<PostureReport> {
  const { config, directory } = loadConfigOrThrow(configFile);
  const sources = policySourcesOf(config);
  const store = storeOptionsOfConfig(config, directory);
  const { agents, log } = await readStores(store, config);
  return scorePosture({
    configFile,
    config,
    sources,
    agents,
    log,
    ...(agentId !== undefined ? { agentId } : {}),
  });
}

/** The agents and the log of a store, or why there are none: never creates a store that is not there. */
async function readStores(
  store: StoreOptions,
  config: GatewayConfig,
): Promise<{ agents: AgentsReading; log: LogReading }> {
  const where = describeStore(store);
  if (databaseUrlOf(store) === undefined && !existsSync(store.db ?? '')) {
    const why = `the store \`${where}\` does not exist (the deployment has not started)`;
    return { agents: { available: false, why }, log: { available: false, why } };
  }
  let audit: AuditLog | undefined;
  let identity: IdentityStore | undefined;
  try {
    audit = await openReadableAuditLog(store);
    identity = await openIdentityStore(store);
    const publicKey = verificationKey(store);
    const evidence = await readPostureLog(audit, {
      where,
      checkpointEvery: config.audit.checkpoints.every,
      published: publishedCheckpoints(config),
      ...(publicKey !== undefined ? { publicKey } : {}),
    });
    return {
      agents: { available: true, agents: await identity.listAgents() },
      log: { available: true, evidence },
    };
  } finally {
    await audit?.close();
    await identity?.close();
  }
}

export async function runPosture(options: PostureOptions, io: CliIo): Promise<number> {
  if (!(FORMATS as readonly string[]).includes(options.format)) {
    io.err(`reins posture: --format must be text, json or markdown, got \`${options.format}\``);
    return EXIT_ERROR;
  }
  try {
    const report = await postureOfConfig(options.config, options.agent);
    io.out(render(report, options.format as Format));
    return EXIT_OK;
  } catch (error) {
    io.err(`reins posture: ${describeError(error)}`);
    return EXIT_ERROR;
  }
}

function render(report: PostureReport, format: Format): string {
  if (format === 'json') return JSON.stringify(report, null, 2);
  if (format === 'markdown') return formatPostureMarkdown(report);
  return formatPostureText(report);
}
