/**
 * @module test/support/readme-blocks
 * The command blocks of the README's Quick start, as the reader sees them: the walkthrough (from
 * `## Quick start` to its first `###` subsection) and its fenced `sh` blocks, each with the marker
 * comment before it (`<!-- quickstart:run -->`, `... keeps-running`, `... waits-for-approval`) and the
 * prose after it. The markers say how the test runs a block; a block without one is not run.
 */

/** How a block runs: to completion, in the background until the end, or until a held call is approved. */
export type BlockMode = 'run' | 'keeps-running' | 'waits-for-approval';

export interface ReadmeBlock {
  /** undefined: the block has no marker (the test does not run it). */
  readonly mode: BlockMode | undefined;
  /** The block's text, exactly as written. */
  readonly script: string;
  /** The prose from the end of this block to the start of the next one. */
  readonly after: string;
}

const MARKER = /^<!-- quickstart:run(?: (keeps-running|waits-for-approval))? -->\n$/;

/** The walkthrough of the Quick start: `## Quick start` up to the next heading of level 2 or 3. */
export function quickstartSection(readme: string): string {
  const start = readme.indexOf('\n## Quick start\n');
  if (start < 0) throw new Error('README.md has no `## Quick start` section');
  const rest = readme.slice(start + 1);
  const end = rest.slice(3).search(/\n##/);
  return end < 0 ? rest : rest.slice(0, end + 3 + 1);
}

/** The fenced `sh` blocks of the walkthrough, in order, with their markers. */
export function quickstartBlocks(readme: string): ReadmeBlock[] {
  const section = quickstartSection(readme);
  const fence = /```sh\n([\s\S]*?)```\n/g;
  const found: { mode: BlockMode | undefined; script: string; start: number; end: number }[] = [];
  let previousEnd = 0;
  for (let match = fence.exec(section); match !== null; match = fence.exec(section)) {
    const before = section.slice(previousEnd, match.index);
    const lastLine = before.slice(before.lastIndexOf('\n', before.length - 2) + 1);
    const marker = MARKER.exec(lastLine);
    if (marker === null && lastLine.includes('quickstart')) {
      throw new Error(`malformed Quick start marker: ${lastLine.trim()}`);
    }
    const mode = marker === null ? undefined : ((marker[1] as BlockMode | undefined) ?? 'run');
    found.push({ mode, script: match[1] ?? '', start: match.index, end: fence.lastIndex });
    previousEnd = fence.lastIndex;
  }
  return found.map((block, index) => ({
    mode: block.mode,
    script: block.script,
    after: section.slice(block.end, found[index + 1]?.start ?? section.length),
  }));
}
