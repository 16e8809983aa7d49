/**
 * @module policy/yaml-source
 * Parses YAML text while keeping source positions, validates it with a zod schema, and reports
 * every problem (syntax, schema, unknown field) at the file:line:column it comes from.
 */
import { isAlias, isMap, isPair, isScalar, LineCounter, type Node, parseDocument, visit } from 'yaml';
import type { z } from 'zod';
import type { PolicyProblem } from './policy-problem.js';

export type SourcePath = readonly (string | number)[];

/** A parsed YAML file that can point at the source of any value in it. */
export class YamlSource {
  private constructor(
    readonly file: string,
    private readonly document: ReturnType<typeof parseDocument>,
    private readonly lines: LineCounter,
  ) {}

  /** Parses `text`; YAML syntax errors are returned as problems, never thrown. */
  static parse(file: string, text: string): { source: YamlSource; problems: PolicyProblem[] } {
    const lines = new LineCounter();
    const document = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    const source = new YamlSource(file, document, lines);
    const problems = [...document.errors, ...document.warnings].map((error) => {
      const position = lines.linePos(error.pos[0]);
      return {
        file,
        line: position.line,
        column: position.col,
        message: `yaml syntax error: ${error.message.split('\n')[0]}`,
      };
    });
    return { source, problems };
  }

  /**
   * The plain JavaScript value of the document, or a problem: an alias whose anchor does not exist, or
   * more aliases than `maxAliasCount` (an alias bomb), only show up here, and the yaml library throws.
   */
  toJS(): { value: unknown } | { problem: PolicyProblem } {
    try {
      return { value: this.document.toJS({ maxAliasCount: 100 }) };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return {
        problem: { file: this.file, ...this.firstAlias(), message: `yaml error: ${message.split('\n')[0]}` },
      };
    }
  }

  /** Where the first alias without anchor is, or else the first alias (what `toJS` fails on). */
  private firstAlias(): { line: number; column: number } {
    let start: number | undefined;
    visit(this.document, {
      Alias: (_key, node) => {
        if (!isAlias(node) || node.range === undefined || node.range === null) return undefined;
        const unresolved = node.resolve(this.document) === undefined;
        if (start === undefined || unresolved) start = node.range[0];
        return unresolved ? visit.BREAK : undefined;
      },
    });
    if (start === undefined) return { line: 1, column: 1 };
    const position = this.lines.linePos(start);
    return { line: position.line, column: position.col };
  }

  /** Location of the value at `path`, or of its nearest existing ancestor. */
  locate(path: SourcePath, offsetInValue = 0): { line: number; column: number } {
    for (let length = path.length; length >= 0; length--) {
      const node = this.document.getIn(path.slice(0, length), true) as Node | undefined;
      const start = node?.range?.[0];
      if (start !== undefined) {
        const position = this.lines.linePos(start + this.valueOffset(node, offsetInValue));
        return { line: position.line, column: position.col };
      }
    }
    return { line: 1, column: 1 };
  }

  /** Location of the key `key` inside the mapping at `path` (for unknown fields). */
  locateKey(path: SourcePath, key: string): { line: number; column: number } {
    const parent = this.document.getIn(path, true);
    const container = path.length === 0 ? this.document.contents : parent;
    if (isMap(container)) {
      for (const item of container.items) {
        if (isPair(item) && isScalar(item.key) && item.key.value === key && item.key.range) {
          const position = this.lines.linePos(item.key.range[0]);
          return { line: position.line, column: position.col };
        }
      }
    }
    return this.locate(path);
  }

  /** Validates the document with `schema`; each failure becomes a located problem. */
  validate<T extends z.ZodType>(schema: T): { value?: z.output<T>; problems: PolicyProblem[] } {
    const plain = this.toJS();
    if ('problem' in plain) return { problems: [plain.problem] };
    const result = schema.safeParse(plain.value);
    if (result.success) return { value: result.data, problems: [] };
    const problems = result.error.issues.map((issue) => {
      const path = issue.path.filter((part): part is string | number => typeof part !== 'symbol');
      if (issue.code === 'unrecognized_keys') {
        const key = issue.keys[0] ?? '';
        const at = this.locateKey(path, key);
        const where = path.length > 0 ? ` in \`${path.join('.')}\`` : '';
        return { file: this.file, ...at, message: `unknown field \`${issue.keys.join('`, `')}\`${where}` };
      }
      const at = this.locate(path);
      const field = path.length > 0 ? `\`${path.join('.')}\`: ` : '';
      return { file: this.file, ...at, message: `${field}${issue.message}` };
    });
    return { problems };
  }

  /** For plain scalars the value starts where the node starts; quoted ones start one character later. */
  private valueOffset(node: Node | undefined, offsetInValue: number): number {
    if (!isScalar(node)) return 0;
    if (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') return offsetInValue + 1;
    if (node.type === 'PLAIN') return offsetInValue;
    return 0; // block scalars: the line of the key is the best we can say cheaply
  }
}
