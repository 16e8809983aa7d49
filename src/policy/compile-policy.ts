/**
 * @module policy/compile-policy
 * Turns policy documents (YAML text) into a PreparedPolicy: validate with the schema, type-check every
 * CEL expression, check ids, build matchers. Every problem is collected and located; nothing throws.
 */
import { createHash } from 'node:crypto';
import { DEFAULT_KINDS } from '../dataflow/identifiers.js';
import type { MonitorSection } from '../spec/monitor.js';
import {
  type MemoryGuardDocument,
  type PolicyDocument,
  PolicyDocumentSchema,
} from '../spec/policy-document.js';
import {
  type CompiledCatalogueEntry,
  type CompiledRule,
  type CompiledToolMatch,
  compileCatalogueEntry,
  compilePrincipalMatch,
  compileToolMatch,
} from './compiled-rule.js';
import { type CompiledExpression, compileExpression, type ExpressionPurpose } from './conditions.js';
import { compileGlob } from './glob.js';
import type { PolicyProblem } from './policy-problem.js';
import { PreparedPolicy, type RollbackSettings } from './prepared-policy.js';
import { RedactionPolicy } from './redaction-policy.js';
import { type CompiledReversal, compileReversal } from './reversal.js';
import { compiledProfile } from './reversal-profiles.js';
import { type SourcePath, YamlSource } from './yaml-source.js';

export interface PolicySource {
  /** Shown in problems; usually the file path. */
  readonly file: string;
  readonly text: string;
}

export type CompilePolicyResult =
  | { ok: true; policy: PreparedPolicy; documents: readonly PolicyDocument[] }
  | { ok: false; problems: readonly PolicyProblem[] };

/**
 * Compiles one or more policy documents into a single policy set, or reports every problem.
 * `index: false` is for tests only (see PreparedPolicy): the same policy without its lookup indexes.
 */
export function compilePolicy(
  sources: readonly PolicySource[],
  options: { index?: boolean } = {},
): CompilePolicyResult {
  const problems: PolicyProblem[] = [];
  if (sources.length === 0) {
    return {
      ok: false,
      problems: [{ file: '(none)', line: 0, column: 0, message: 'no policy documents given' }],
    };
  }
  const rules: CompiledRule[] = [];
  const catalogue: CompiledCatalogueEntry[] = [];
  const documents: PolicyDocument[] = [];
  const ruleLocations = new Map<string, string>();
  const cataloguePatterns = new Map<string, string>();
  const sections = new SingleSections(problems);
  const rollback = new RollbackSections(problems);

  for (const source of sources) {
    const parsed = YamlSource.parse(source.file, source.text);
    if (parsed.problems.length > 0) {
      problems.push(...parsed.problems);
      continue;
    }
    const validated = parsed.source.validate(PolicyDocumentSchema);
    if (validated.value === undefined) {
      problems.push(...validated.problems);
      continue;
    }
    const document = validated.value;
    documents.push(document);
    sections.collect(source.file, parsed.source, document);
    rollback.collect(parsed.source, document);
    const compiler = new DocumentCompiler(parsed.source, document, rules.length, problems);
    compiler.compileInto(rules);
    for (const [index, entry] of document.tools.entries()) {
      const key = `${entry.server}/${entry.name}`;
      const at = parsed.source.locate(['tools', index]);
      const earlier = cataloguePatterns.get(key);
      if (earlier !== undefined) {
        problems.push({
          file: source.file,
          ...at,
          message: `tool \`${key}\` is already declared at ${earlier}`,
        });
        continue;
      }
      cataloguePatterns.set(key, `${source.file}:${at.line}`);
      const reversal = compileEntryReversal(parsed.source, index, entry.reversal, problems);
      catalogue.push(compileCatalogueEntry(entry, reversal));
    }
    for (const [index, rule] of (document.monitor?.rules ?? []).entries())
      compiler.compiledIds.push({ id: rule.id, at: parsed.source.locate(['monitor', 'rules', index, 'id']) });
    for (const rule of compiler.compiledIds) {
      const earlier = ruleLocations.get(rule.id);
      if (earlier !== undefined) {
        problems.push({
          file: source.file,
          ...rule.at,
          message: `rule id \`${rule.id}\` is already used at ${earlier}`,
        });
      } else {
        ruleLocations.set(rule.id, `${source.file}:${rule.at.line}`);
      }
    }
  }
  const redaction = sections.compile();
  if (problems.length > 0 || redaction === undefined) return { ok: false, problems };
  const hash = hashSources(sources);
  const index = options.index === false ? { index: false } : {};
  const policy = new PreparedPolicy({
    hash,
    rules,
    catalogue,
    documents,
    rollback: rollback.settings(),
    ...redaction,
    ...index,
  });
  return { ok: true, policy, documents };
}

/** `sha256:<hex>` over the documents' text, in load order (the path does not change the version). */
export function hashSources(sources: readonly PolicySource[]): string {
  const hash = createHash('sha256');
  for (const source of sources) {
    hash.update(String(Buffer.byteLength(source.text)));
    hash.update('\n');
    hash.update(source.text);
  }
  return `sha256:${hash.digest('hex')}`;
}

/** A catalogue entry's `reversal`, compiled; its problems are located in the entry. */
function compileEntryReversal(
  source: YamlSource,
  index: number,
  document: PolicyDocument['tools'][number]['reversal'],
  problems: PolicyProblem[],
): CompiledReversal | undefined {
  if (document === undefined) return undefined;
  const compiled = compileReversal(document);
  if (compiled.ok) return compiled.reversal;
  for (const problem of compiled.problems) {
    const path = ['tools', index, 'reversal', ...problem.path];
    problems.push({
      file: source.file,
      ...source.locate(path, problem.offset),
      message: `\`${path.join('.')}\`: ${problem.message}`,
    });
  }
  return undefined;
}

/**
 * The `rollback:` sections of all documents, combined like the catalogue: the profiles in load order
 * (a server pattern given a profile twice is a problem, as a tool declared twice is), the operators
 * together.
 */
class RollbackSections {
  private readonly profiles: RollbackSettings['profiles'][number][] = [];
  private readonly operators = new Set<string>(['admin']);
  private readonly servers = new Map<string, string>();

  constructor(private readonly problems: PolicyProblem[]) {}

  collect(source: YamlSource, document: PolicyDocument): void {
    const section = document.rollback;
    if (section === undefined) return;
    for (const operator of section.operators) this.operators.add(operator);
    for (const [index, use] of section.profiles.entries()) {
      const at = source.locate(['rollback', 'profiles', index]);
      const problem = (message: string) => this.problems.push({ file: source.file, ...at, message });
      const earlier = this.servers.get(use.server);
      if (earlier !== undefined) {
        problem(
          `\`rollback.profiles.${index}\`: server \`${use.server}\` already has a profile at ${earlier}`,
        );
        continue;
      }
      this.servers.set(use.server, `${source.file}:${at.line}`);
      const profile = compiledProfile(use.profile);
      if (!profile.ok) {
        problem(`\`rollback.profiles.${index}\`: ${profile.message}`);
        continue;
      }
      this.profiles.push({ server: compileGlob(use.server), reversals: profile.reversals });
    }
  }

  settings(): RollbackSettings {
    return { profiles: this.profiles, operators: [...this.operators].sort() };
  }
}

/**
 * The `redaction:`, `memory:` and `monitor:` sections: at most one document of a policy set may have each (two
 * would leave it unclear which actions apply), compiled once all documents are read.
 */
class SingleSections {
  private redaction: { file: string; source: YamlSource; document: PolicyDocument } | undefined;
  private memory: { file: string; source: YamlSource; document: PolicyDocument } | undefined;
  private monitor: { file: string; source: YamlSource; document: PolicyDocument } | undefined;

  constructor(private readonly problems: PolicyProblem[]) {}

  collect(file: string, source: YamlSource, document: PolicyDocument): void {
    for (const key of ['redaction', 'memory', 'monitor'] as const) {
      if (document[key] === undefined) continue;
      const earlier = this[key];
      if (earlier !== undefined) {
        const at = source.locate([key]);
        const first = earlier.source.locate([key]);
        this.problems.push({
          file,
          ...at,
          message: `\`${key}\` is already set at ${earlier.file}:${first.line}: a policy set has one`,
        });
      } else this[key] = { file, source, document };
    }
  }

  /** The compiled sections, or undefined after reporting their problems. */
  compile():
    | { redaction?: RedactionPolicy; memory?: MemoryGuardDocument; monitor?: MonitorSection }
    | undefined {
    const compiled = RedactionPolicy.compile(
      this.redaction?.document.redaction,
      this.memory?.document.memory,
    );
    if (!compiled.ok) {
      for (const problem of compiled.problems) {
        const owner = problem.path[0] === 'memory' ? this.memory : this.redaction;
        if (owner === undefined) continue;
        this.problems.push({
          file: owner.file,
          ...owner.source.locate(problem.path),
          message: problem.message,
        });
      }
      return undefined;
    }
    const memory = this.memory?.document.memory;
    const monitor = this.monitor?.document.monitor;
    return {
      ...(compiled.policy ? { redaction: compiled.policy } : {}),
      ...(memory ? { memory } : {}),
      ...(monitor ? { monitor } : {}),
    };
  }
}

/** Compiles the rules of one document, reporting problems against its source. */
class DocumentCompiler {
  readonly compiledIds: { id: string; at: { line: number; column: number } }[] = [];

  constructor(
    private readonly source: YamlSource,
    private readonly document: PolicyDocument,
    private readonly firstOrder: number,
    private readonly problems: PolicyProblem[],
  ) {}

  compileInto(rules: CompiledRule[]): void {
    const documentShadow = this.document.mode === 'shadow';
    let order = this.firstOrder;
    const base = (
      section: string,
      index: number,
      rule: Pick<
        PolicyDocument['rules'][number],
        'id' | 'reason' | 'mode' | 'principal' | 'tool' | 'when' | 'approval'
      >,
    ) => {
      this.compiledIds.push({ id: rule.id, at: this.source.locate([section, index, 'id']) });
      return {
        id: rule.id,
        reason: rule.reason,
        shadow: documentShadow || rule.mode === 'shadow',
        order: order++,
        principal: compilePrincipalMatch(rule.principal),
        tool: compileToolMatch(rule.tool),
        condition: this.expression<boolean>(rule.when, [section, index, 'when'], 'condition'),
        approval: {
          requirement: {
            ruleId: rule.id,
            approvers: rule.approval?.approvers ?? ['approver', 'admin'],
            quorum: rule.approval?.quorum ?? 1,
            ownerMayApprove: rule.approval?.ownerMayApprove ?? false,
          },
          expiresInMs: rule.approval?.expires,
        },
      };
    };
    for (const [index, rule] of this.document.rules.entries()) {
      rules.push({ ...base('rules', index, rule), kind: 'rule', effect: rule.effect });
    }
    for (const [index, rule] of this.document.sequences.entries()) {
      const prior = rule.requires ?? rule.forbids;
      if (prior === undefined) continue; // the schema guarantees one of them
      const mode = rule.requires ? 'requires' : 'forbids';
      rules.push({
        ...base('sequences', index, rule),
        kind: 'sequence',
        effect: rule.effect,
        prior: {
          mode,
          tool: compileToolMatch(prior.tool) as CompiledToolMatch,
          condition: this.expression<boolean>(
            prior.when,
            ['sequences', index, mode, 'when'],
            'sequence-condition',
          ),
          withinMs: prior.within,
        },
      });
    }
    for (const [index, rule] of this.document.limits.entries()) {
      rules.push({
        ...base('limits', index, rule),
        kind: 'limit',
        effect: rule.effect,
        per: rule.per,
        windowMs: rule.window,
        max: rule.max,
        amount: this.expression<number>(rule.sum, ['limits', index, 'sum'], 'amount'),
      });
    }
    for (const [index, rule] of this.document.flows.entries()) {
      const provenance = rule.check === 'provenance';
      rules.push({
        ...base('flows', index, rule),
        kind: 'flow',
        effect: rule.effect ?? (provenance ? 'approve' : 'deny'),
        check: provenance
          ? {
              type: 'provenance',
              args: rule.args,
              text: rule.text,
              base: {
                kinds: rule.kinds ?? DEFAULT_KINDS,
                trustedOrigins: new Set(rule.trustedOrigins),
                flagUnseen: rule.unseen === 'flag',
              },
            }
          : { type: 'tenant' },
      });
    }
  }

  private expression<T extends boolean | number>(
    text: string | undefined,
    path: SourcePath,
    purpose: ExpressionPurpose,
  ): CompiledExpression<T> | undefined {
    if (text === undefined) return undefined;
    const compiled = compileExpression<T>(text, purpose);
    if (compiled.ok) return compiled.expression;
    const at = this.source.locate(path, compiled.offset);
    this.problems.push({
      file: this.source.file,
      ...at,
      message: `\`${path.join('.')}\`: ${compiled.message}`,
    });
    return undefined;
  }
}
