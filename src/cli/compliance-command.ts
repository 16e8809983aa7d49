/**
 * @module cli/compliance-command
 * `reins compliance scan [--config reins.yaml] [--format text|json|markdown] [--recommend <file|dir>]
 * [--fail-on <severity|none>] [--now <time>] [--unused-after 30d] [--key-max-age 90d]
 * [--checkpoint-max-age 7d]`: the continuous compliance scan of a deployment (inspect/compliance-scan),
 * and `runDeploymentScan`, which the scheduled scan of `reins serve` shares. Exit 0 when no finding is
 * at or above `--fail-on` (default `low`: any finding fails), 1 when one is, 2 when the scan could not
 * be made (no policy, an unreadable log or lock).
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckpointPublishConfig } from '../export/checkpoint-publisher.js';
import { shellWord } from '../inspect/compliance-grants.js';
import { RECOMMENDATION_NAME, scanCompliance } from '../inspect/compliance-scan.js';
import { loadPolicy } from '../loader/policy-files.js';
import { formatProblem } from '../policy/policy-problem.js';
import type { PreparedPolicy } from '../policy/prepared-policy.js';
import {
  atLeast,
  type ComplianceConfig,
  type ComplianceReport,
  complianceThresholds,
  type Severity,
  SeveritySchema,
} from '../spec/compliance.js';
import { parseDuration } from '../spec/duration.js';
import { describeError, ReinsError } from '../spec/errors.js';
import type { AuditLog } from '../store/audit-log.js';
import type { IdentityStore } from '../store/state-stores.js';
import { openIdentityStore, openReadableAuditLog, type StoreOptions } from './audit-store.js';
import { chainVerifier, checkpointPublication, lockedTools, signingKeyAges } from './compliance-sources.js';
import { loadConfigOrThrow } from './deployment.js';
import { type CliIo, EXIT_ERROR, EXIT_FAILED, EXIT_OK } from './io.js';

/** What a scan of a deployment reads besides its stores. */
export interface ScanDeployment {
  readonly storeOptions: StoreOptions;
  readonly lock: string;
  /** `audit.checkpoints.publish` of its configuration; undefined without a configuration. */
  readonly publish?: CheckpointPublishConfig;
  /** `compliance:` of its configuration, under the command line's thresholds. */
  readonly compliance?: ComplianceConfig;
  /** Leave the chain unverified, for this reason (the scheduled scan of a serving process). */
  readonly skipChain?: string;
}

/** Scans a deployment with stores already open (the CLI's read-only ones, or a serving process's own). */
export async function runDeploymentScan(
  deployment: ScanDeployment,
  opened: { readonly audit: AuditLog; readonly identity: IdentityStore; readonly policy: PreparedPolicy },
  now: number,
  overrides: Partial<Record<'unusedAfter' | 'keyMaxAge' | 'checkpointMaxAge', number>> = {},
): Promise<ComplianceReport> {
  const publication =
    deployment.publish === undefined ? undefined : checkpointPublication(deployment.publish);
  const lock = lockedTools(deployment.lock);
  return scanCompliance({
    audit: opened.audit,
    policy: opened.policy,
    agents: await opened.identity.listAgents(),
    ...(lock !== undefined ? { lock } : {}),
    keys: signingKeyAges(deployment.storeOptions),
    ...(publication !== undefined ? { checkpoints: publication } : {}),
    verifyChain:
      deployment.skipChain !== undefined
        ? { skipped: deployment.skipChain }
        : chainVerifier(opened.audit, deployment.storeOptions, publication?.published ?? []),
    now,
    thresholds: complianceThresholds(deployment.compliance, overrides),
  });
}

export interface ScanOptions extends StoreOptions {
  readonly config?: string;
  readonly policy?: string;
  readonly lock: string;
  readonly checkpointPublication?: CheckpointPublishConfig;
  readonly format: string;
  readonly recommend?: string;
  readonly failOn: string;
  readonly now?: string;
  readonly unusedAfter?: string;
  readonly keyMaxAge?: string;
  readonly checkpointMaxAge?: string;
}

export async function complianceScan(options: ScanOptions, io: CliIo): Promise<number> {
  let report: ComplianceReport;
  let failOn: Severity | 'none';
  try {
    if (!['text', 'json', 'markdown'].includes(options.format))
      throw new ReinsError(
        'invalid_input',
        `--format must be text, json or markdown, got \`${options.format}\``,
      );
    failOn = failOnOf(options.failOn);
    const policy = policyOf(options.policy);
    const compliance =
      options.config !== undefined ? loadConfigOrThrow(options.config).config.compliance : undefined;
    const deployment: ScanDeployment = {
      storeOptions: options,
      lock: options.lock,
      ...(options.checkpointPublication !== undefined ? { publish: options.checkpointPublication } : {}),
      ...(compliance !== undefined ? { compliance } : {}),
    };
    const audit = await openReadableAuditLog(options);
    try {
      const identity = await openIdentityStore(options);
      try {
        report = await runDeploymentScan(deployment, { audit, identity, policy }, nowOf(options.now), {
          ...duration('--unused-after', options.unusedAfter, 'unusedAfter'),
          ...duration('--key-max-age', options.keyMaxAge, 'keyMaxAge'),
          ...duration('--checkpoint-max-age', options.checkpointMaxAge, 'checkpointMaxAge'),
        });
      } finally {
        await identity.close();
      }
    } finally {
      await audit.close();
    }
    if (options.recommend !== undefined) writeRecommendation(options.recommend, report, io);
  } catch (error) {
    io.err(`reins compliance scan: ${describeError(error)}`);
    return EXIT_ERROR;
  }
  if (options.format === 'json') io.out(JSON.stringify(report, null, 2));
  else io.out((options.format === 'markdown' ? markdownReport : textReport)(report).join('\n'));
  if (failOn === 'none') return EXIT_OK;
  return report.findings.some((finding) => atLeast(finding.severity, failOn as Severity))
    ? EXIT_FAILED
    : EXIT_OK;
}

function failOnOf(value: string): Severity | 'none' {
  if (value === 'none') return 'none';
  const parsed = SeveritySchema.safeParse(value);
  if (!parsed.success)
    throw new ReinsError(
      'invalid_input',
      `--fail-on must be low, medium, high, critical or none, got \`${value}\``,
    );
  return parsed.data;
}

function policyOf(path: string | undefined): PreparedPolicy {
  if (path === undefined)
    throw new ReinsError(
      'invalid_input',
      'no policy: give --policy, or a configuration that names one (--config)',
    );
  const loaded = loadPolicy(path);
  if (!loaded.ok)
    throw new ReinsError(
      'invalid_input',
      `the policy \`${path}\` does not load:\n${loaded.problems.map(formatProblem).join('\n')}`,
    );
  return loaded.policy;
}

function nowOf(value: string | undefined): number {
  return value === undefined ? Date.now() : Date.parse(value);
}

function duration<K extends string>(
  flag: string,
  value: string | undefined,
  key: K,
): Partial<Record<K, number>> {
  if (value === undefined) return {};
  const ms = parseDuration(value);
  if (ms === undefined)
    throw new ReinsError('invalid_input', `${flag} must be a duration such as \`30d\`, got \`${value}\``);
  return { [key]: ms } as Partial<Record<K, number>>;
}

/** Writes the recommended policy to the file, or to `<dir>/compliance-least-privilege.yaml`. */
function writeRecommendation(target: string, report: ComplianceReport, io: CliIo): void {
  const policy = report.recommendation?.policy;
  if (policy === undefined) {
    io.err('no least-privilege recommendation: every agent exercised what it is allowed (nothing written)');
    return;
  }
  const file =
    existsSync(target) && statSync(target).isDirectory()
      ? join(target, `${RECOMMENDATION_NAME}.yaml`)
      : target;
  writeFileSync(file, policy);
  io.err(
    `least-privilege recommendation written to ${file}; check it with \`reins policy diff\` before adding it`,
  );
}

function textReport(report: ComplianceReport): string[] {
  const lines = [
    `compliance scan at ${report.at} (usage since ${report.windowStart}): ${report.findings.length} finding(s)`,
  ];
  for (const finding of report.findings) {
    lines.push(
      '',
      `${finding.severity.toUpperCase()} ${finding.code} ${finding.subject}`,
      `  ${finding.message}`,
    );
    for (const line of finding.evidence) lines.push(`  evidence: ${line}`);
    lines.push(`  fix: ${finding.fix}`);
  }
  lines.push('', 'checks:');
  for (const check of report.checks)
    lines.push(`  ${check.name}: ${check.status}${check.note ? ` (${check.note})` : ''}`);
  return [...lines, ...narrowingLines(report)];
}

/** Per agent: what the recommendation denies, what it cannot, and the command for its next credential. */
function narrowingLines(report: ComplianceReport): string[] {
  const agents = report.recommendation?.agents ?? [];
  if (agents.length === 0) return [];
  const lines = ['', 'least privilege (`--recommend <dir>` writes the policy):'];
  for (const narrowing of agents) {
    const denied = narrowing.unusedTools.length - narrowing.notExpressible.length;
    const older = `${narrowing.olderCallsAffected}${narrowing.olderCallsTruncated ? ' or more' : ''}`;
    lines.push(
      `  ${JSON.stringify(narrowing.agentId)}: ${denied} tool(s) denied by the recommendation (${older} older call(s) affected)`,
    );
    if (narrowing.notExpressible.length > 0)
      lines.push(
        `    cannot be expressed as a rule, narrow by hand: ${narrowing.notExpressible.map((tool) => JSON.stringify(tool)).join(', ')}`,
      );
    if (narrowing.nextScopes.length > 0)
      lines.push(
        `    next credential: reins agents token ${shellWord(narrowing.agentId)} --scopes ${narrowing.nextScopes.map(shellWord).join(',')}`,
      );
  }
  return lines;
}

function markdownReport(report: ComplianceReport): string[] {
  const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
  const lines = [
    `# Compliance scan, ${report.at}`,
    '',
    `Usage window: since ${report.windowStart}. Findings: ${report.findings.length}.`,
    '',
    '| severity | code | subject | finding | fix |',
    '| --- | --- | --- | --- | --- |',
    ...report.findings.map(
      (finding) =>
        `| ${finding.severity} | \`${finding.code}\` | ${cell(finding.subject)} | ${cell(finding.message)} (${cell(finding.evidence.join('; '))}) | ${cell(finding.fix)} |`,
    ),
    '',
    '## Checks',
    '',
    ...report.checks.map(
      (check) => `- ${check.name}: ${check.status}${check.note ? ` (${cell(check.note)})` : ''}`,
    ),
  ];
  if (report.recommendation?.policy !== undefined)
    lines.push(
      '',
      '## Least-privilege recommendation',
      '',
      '```yaml',
      report.recommendation.policy.trimEnd(),
      '```',
    );
  return lines;
}
