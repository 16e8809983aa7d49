/**
 * @module examples/demo/demo-output
 * Plain-text layout of the demo: section headers, one line per decision, short hashes. Kept apart from
 * the scenarios so both read as a story and the layout stays the same across them.
 */

const RULE_WIDTH = 100;

/** The kind of line: what Reins decided, or `RAN` when a tool ran with nobody deciding. */
export type DecisionLabel = 'ALLOW' | 'DENY' | 'HOLD' | 'RAN';

export function banner(title: string): string[] {
  const rule = '='.repeat(RULE_WIDTH);
  return ['', rule, title, rule];
}

export function section(title: string): string[] {
  return ['', `-- ${title} `.padEnd(RULE_WIDTH, '-')];
}

/** `  DENY     crm/db.execute  support-skill  — <note>`, with the tool padded so columns line up. */
export function decisionLine(
  label: DecisionLabel,
  tool: string,
  toolWidth: number,
  agentId: string,
  note: string,
): string {
  return `     ${label.padEnd(8)} ${tool.padEnd(toolWidth)}  ${agentId}  — ${note}`;
}

/** A continuation under a decision line, aligned with its tool column. */
export function detailLine(text: string): string {
  return `              ${text}`;
}

/** The first characters of a hex hash (after any `sha256:` prefix): enough to tell records apart. */
export function shortHash(hash: string, length = 12): string {
  const hex = hash.startsWith('sha256:') ? hash.slice('sha256:'.length) : hash;
  return hex.slice(0, length);
}

/** Cuts `text` to `length` characters, marking the cut. */
export function truncate(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}

export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}

export function stars(count: number): string {
  return '★'.repeat(count) + '☆'.repeat(Math.max(0, 5 - count));
}

export function writeAll(write: (line: string) => void, lines: readonly string[]): void {
  for (const line of lines) write(line);
}

/** Splits `text` at spaces into lines of at most `width` characters (longer words stay whole). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(' ')) {
    if (current !== '' && current.length + 1 + word.length > width) {
      lines.push(current);
      current = word;
    } else {
      current = current === '' ? word : `${current} ${word}`;
    }
  }
  if (current !== '') lines.push(current);
  return lines;
}

/** An error in one line, as the demo prints a failure it cannot go on from. */
export function firstLine(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0] ?? error.name;
  return String(error);
}
