/**
 * @module replay/tool-output
 * Recorded tool results are text (YAML dumps, Python dict reprs, prose). To index values by field, as
 * production does with structured MCP results, text that is clearly a YAML collection or a flow
 * mapping is parsed; anything else stays text (then the tool's catalogue trust applies to all of it).
 */
import { parse } from 'yaml';

/** A structure when the text is unambiguously one, else the text itself. */
export function structureOf(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed.length === 0) return text;
  if (!looksStructured(trimmed)) return text;
  try {
    const value: unknown = parse(trimmed, { uniqueKeys: false, maxAliasCount: 0 });
    return value !== null && typeof value === 'object' ? value : text;
  } catch {
    return text;
  }
}

/**
 * Flow collections (`{...}`, `[...]`) and block collections whose every top-level line is a `- ` item
 * or a `key: ` entry. A line of prose at the top level ("Hotel Names: A\nB") means it is a text.
 */
function looksStructured(text: string): boolean {
  const first = text[0];
  if (first === '{' || first === '[') return true;
  for (const line of text.split('\n')) {
    if (line.length === 0 || line[0] === ' ' || line[0] === '\t') continue;
    if (line.startsWith('- ') || line === '-') continue;
    if (/^[A-Za-z_][\w .-]*:(?: |$)/.test(line)) continue;
    return false;
  }
  return true;
}
