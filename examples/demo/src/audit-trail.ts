/**
 * @module examples/demo/audit-trail
 * Prints what one scenario left in the audit log (its records, read back from the store, not from
 * memory) and verifies the hash chain of the whole log, so the demo shows the evidence, not a claim.
 */
import type { AuditEventV1 } from 'reins';
import { plural, section, shortHash, writeAll } from './demo-output.js';
import type { ScenarioAudit, ScenarioContext } from './demo-scenario.js';

export interface AuditTrailOptions {
  /** Only records of these tools (`server/name`) are printed; all are still counted and checked. */
  readonly showTools?: ReadonlySet<string>;
}

/** Prints the records of the given calls appended after `context.auditHeadSeq`, then verifies the chain. */
export async function printAuditTrail(
  context: ScenarioContext,
  decisionIds: ReadonlySet<string>,
  options: AuditTrailOptions = {},
): Promise<ScenarioAudit> {
  const { audit, write } = context;
  writeAll(write, section('Audit trail: read back from the hash-chained audit log'));
  write('     seq  kind          tool                        decision/outcome  chain: previous hash -> hash');
  const kindsByDecision = new Map<string, Set<string>>();
  let records = 0;
  let hidden = 0;
  // Another process may append to the same file meanwhile: filtering by decision id keeps the trail ours.
  for await (const record of audit.records({ afterSeq: context.auditHeadSeq })) {
    const event = JSON.parse(record.body) as AuditEventV1;
    if (!decisionIds.has(event.decisionId)) continue;
    records++;
    const kinds = kindsByDecision.get(event.decisionId) ?? new Set<string>();
    kinds.add(event.kind);
    kindsByDecision.set(event.decisionId, kinds);
    const { tool, effect: result } = record;
    if (options.showTools !== undefined && !options.showTools.has(tool)) {
      hidden++;
      continue;
    }
    write(
      `  ${`#${record.seq}`.padStart(6)}  ${event.kind.padEnd(12)}  ${tool.padEnd(26)}  ${result.padEnd(16)}  ${shortHash(record.prevHash)} -> ${shortHash(record.hash)}`,
    );
  }
  if (hidden > 0) {
    write(
      `     (${plural(hidden, 'record')} of the other tools are not shown; they are in the log all the same)`,
    );
  }
  let completeCalls = 0;
  for (const kinds of kindsByDecision.values()) {
    if (kinds.has('call-intent') && kinds.has('call-outcome')) completeCalls++;
  }
  const chain = await audit.verify();
  if (chain.ok) {
    write(
      `  chain verified: all ${plural(chain.checked, 'record')} of the log are intact (head #${chain.lastSeq} ${shortHash(chain.lastHash)})`,
    );
  } else {
    const bad = chain.firstBad;
    write(
      `  CHAIN BROKEN at record ${bad?.seq ?? '?'} (${bad?.problem ?? 'unknown'}): ${bad?.message ?? ''}`,
    );
  }
  return { records, completeCalls, chain };
}
