/**
 * @module policy/redaction-policy
 * The compiled `redaction:` and `memory:` sections of a policy: which detectors run and what each
 * finding leads to, for tool results (redact, block, allow) and for tool arguments (redact, block,
 * hold, allow), with per-tool changes. Pure; the harness applies it at decision time (arguments) and
 * before the agent sees a result (outputs).
 */
import type { DetectorClass } from '../detect/detectors.js';
import { DETECTOR_IDS } from '../detect/detectors.js';
import {
  type ActionFor,
  type RedactedValue,
  type RedactionAction,
  redactValue,
  type ValueFinding,
} from '../detect/redact-value.js';
import { Scanner } from '../detect/scanner.js';
import type { ToolFacts } from '../spec/decision.js';
import type { MemoryGuardDocument, RedactionDocument } from '../spec/policy-document.js';
import type { ToolRef } from '../spec/tool-call.js';
import { type CompiledToolMatch, compileToolMatch, toolMatches } from './compiled-rule.js';
import { compileGlobList, type NameMatcher } from './glob.js';

type ActionTable = ReadonlyMap<string, RedactionAction>;

interface ToolChange {
  readonly match: CompiledToolMatch | undefined;
  readonly outputs: ActionTable | undefined;
  readonly inputs: ActionTable | undefined;
}

/** What screening a call's arguments found, and the strongest action it calls for. */
export interface InputScreening {
  /** `block` beats `hold` beats `redact`; `allow` when nothing (or only allowed data) was found. */
  readonly action: 'allow' | 'redact' | 'hold' | 'block';
  /** The arguments with every finding that is not allowed replaced by its placeholder. */
  readonly args: Record<string, unknown>;
  readonly findings: readonly ValueFinding[];
}

export interface RedactionProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

const CLASSES: readonly DetectorClass[] = ['secret', 'pii'];
const DEFAULT_OUTPUTS: ActionTable = new Map([
  ['secret', 'redact'],
  ['pii', 'allow'],
]);
const DEFAULT_INPUTS: ActionTable = new Map([
  ['secret', 'block'],
  ['pii', 'allow'],
]);
const ALLOW_ALL: ActionTable = new Map([
  ['secret', 'allow'],
  ['pii', 'allow'],
]);
/** Facts for a tool the catalogue does not know: only server/name matchers can apply to it. */
const UNKNOWN_FACTS: ToolFacts = { risk: 'critical', effects: [], untrustedOutput: true };
const STRENGTH = { allow: 0, redact: 1, hold: 2, block: 3 } as const;

export class RedactionPolicy {
  private readonly scanner: Scanner;
  /** The same detectors, also counting earlier placeholders as findings (recorded arguments). */
  private readonly recordedScanner: Scanner;

  private constructor(
    detectors: readonly string[] | undefined,
    private readonly outputs: ActionTable,
    private readonly inputs: ActionTable,
    private readonly changes: readonly ToolChange[],
    private readonly memoryServers: NameMatcher | undefined,
    private readonly memorySecrets: 'redact' | 'hold',
  ) {
    this.scanner = new Scanner(detectors);
    this.recordedScanner = new Scanner(detectors, { placeholders: true });
  }

  /** Compiles the sections (either may be absent); problems are reported with their path. */
  static compile(
    redaction: RedactionDocument | undefined,
    memory: MemoryGuardDocument | undefined,
  ): { ok: true; policy: RedactionPolicy | undefined } | { ok: false; problems: RedactionProblem[] } {
    if (redaction === undefined && memory === undefined) return { ok: true, policy: undefined };
    const problems: RedactionProblem[] = [];
    for (const [index, id] of (redaction?.detectors ?? []).entries()) {
      if (!DETECTOR_IDS.includes(id))
        problems.push({ path: ['redaction', 'detectors', index], message: unknownKey(id) });
    }
    const table = (entries: Record<string, RedactionAction> | undefined, path: (string | number)[]) => {
      if (entries === undefined) return undefined;
      for (const key of Object.keys(entries)) {
        if (!CLASSES.includes(key as DetectorClass) && !DETECTOR_IDS.includes(key))
          problems.push({ path: [...path, key], message: unknownKey(key) });
      }
      return new Map(Object.entries(entries));
    };
    const outputs = redaction
      ? merge(DEFAULT_OUTPUTS, table(redaction.outputs, ['redaction', 'outputs']))
      : ALLOW_ALL;
    const inputs = redaction
      ? merge(DEFAULT_INPUTS, table(redaction.inputs, ['redaction', 'inputs']))
      : ALLOW_ALL;
    const changes = (redaction?.tools ?? []).map((change, index) => ({
      match: compileToolMatch(change.tool),
      outputs: table(change.outputs, ['redaction', 'tools', index, 'outputs']),
      inputs: table(change.inputs, ['redaction', 'tools', index, 'inputs']),
    }));
    if (problems.length > 0) return { ok: false, problems };
    return {
      ok: true,
      policy: new RedactionPolicy(
        redaction?.detectors,
        outputs,
        inputs,
        changes,
        memory ? compileGlobList(memory.servers) : undefined,
        memory?.secrets ?? 'redact',
      ),
    };
  }

  /**
   * Screens a call's arguments. Throws only on malformed values (the harness then denies).
   * `recorded`: the arguments come from the audit log, where placeholders stand for what was found.
   */
  screenInput(
    tool: ToolRef,
    facts: ToolFacts | undefined,
    args: Record<string, unknown>,
    recorded = false,
  ): InputScreening {
    const actions = this.actionsFor('inputs', tool, facts);
    const result = redactValue(args, recorded ? this.recordedScanner : this.scanner, actions);
    let action: InputScreening['action'] = 'allow';
    for (const finding of result.findings)
      if (STRENGTH[finding.action] > STRENGTH[action]) action = finding.action;
    return { action, args: result.value as Record<string, unknown>, findings: result.findings };
  }

  /** Redacts a tool result; findings with action `block` mean the result must be withheld. */
  redactOutput(tool: ToolRef, facts: ToolFacts | undefined, output: unknown): RedactedValue {
    return redactValue(output, this.scanner, this.actionsFor('outputs', tool, facts));
  }

  /**
   * The user's declared request as it is recorded (issue 18): what the policy would not let through
   * in a tool result is replaced by its placeholder. Nothing is withheld whole — a finding whose
   * action is `block` is replaced too — since the request is evidence, not a result for the agent.
   */
  redactRequest(text: string): string {
    const actions: ActionFor = (detector, detectorClass) => {
      const action = this.outputs.get(detector) ?? this.outputs.get(detectorClass) ?? 'allow';
      return action === 'allow' ? 'allow' : 'redact';
    };
    return redactValue(text, this.scanner, actions).value as string;
  }

  /** Is this upstream a memory server under the memory guard? */
  isMemoryServer(server: string): boolean {
    return this.memoryServers?.matches(server) ?? false;
  }

  private actionsFor(
    direction: 'inputs' | 'outputs',
    tool: ToolRef,
    facts: ToolFacts | undefined,
  ): (detector: string, detectorClass: DetectorClass) => RedactionAction {
    const tables: ActionTable[] = [direction === 'inputs' ? this.inputs : this.outputs];
    for (const change of this.changes) {
      const changed = change[direction];
      if (changed && toolMatches(change.match, tool, facts ?? UNKNOWN_FACTS)) tables.push(changed);
    }
    // the memory guard comes last: per-tool changes cannot let a secret into memory
    if (this.isMemoryServer(tool.server)) {
      tables.push(new Map([['secret', direction === 'inputs' ? this.memorySecrets : 'redact']]));
    }
    return (detector, detectorClass) => {
      let action: RedactionAction = 'allow';
      for (const entries of tables) action = entries.get(detector) ?? entries.get(detectorClass) ?? action;
      return direction === 'outputs' && action === 'hold' ? 'block' : action;
    };
  }
}

function merge(defaults: ActionTable, given: ActionTable | undefined): ActionTable {
  return given === undefined ? defaults : new Map([...defaults, ...given]);
}

function unknownKey(key: string): string {
  return `unknown detector or class \`${key}\`: use \`secret\`, \`pii\` or one of ${DETECTOR_IDS.join(', ')}`;
}
