/**
 * @module bench/heap-summary
 * Where a process's memory is, from V8 heap snapshots (as `serve-memory.ts --heap-snapshots` writes
 * them): objects grouped by class (constructor name, or the kind of a non-object), with their count,
 * self size and retained size (what would be freed with them: the dominator tree, weak references not
 * counted). Given two snapshots, prints what grew between them, largest retained growth first.
 * With `--fields <Class>`, prints the retained size behind each property of that class's instances
 * (e.g. `Harness`: how much its `dataflows` map or its session registry holds).
 *
 * Run: node --max-old-space-size=8192 dist-bench/bench/heap-summary.js <before> [<after>]
 *        [--top 30] [--fields <Class>]...
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface RawSnapshot {
  readonly snapshot: {
    readonly meta: {
      readonly node_fields: string[];
      readonly node_types: [string[], ...unknown[]];
      readonly edge_fields: string[];
      readonly edge_types: [string[], ...unknown[]];
    };
  };
  readonly nodes: number[];
  readonly edges: number[];
  readonly strings: string[];
}

/** A parsed snapshot with its dominator tree computed. */
interface Heap {
  readonly count: number;
  readonly className: string[];
  readonly selfSize: Float64Array;
  readonly retained: Float64Array;
  /** Immediate dominator of each node (the root dominates itself). */
  readonly idom: Int32Array;
  /** Named outgoing edges of a node: [name, target] (property and context edges only). */
  readonly fields: (node: number) => [string, number][];
  /** Nodes in dominator-tree pre-order, with each one's depth-first range end (exclusive). */
  readonly order: Int32Array;
  readonly subtreeEnd: Int32Array;
  /** Where a node's children start in `order` (just after the node itself). */
  readonly childrenStart: (node: number) => number;
}

function load(path: string): Heap {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as RawSnapshot;
  const { meta } = raw.snapshot;
  const nodeWidth = meta.node_fields.length;
  const edgeWidth = meta.edge_fields.length;
  const at = (fields: string[], name: string) => {
    const index = fields.indexOf(name);
    if (index < 0) throw new Error(`snapshot has no ${name} field`);
    return index;
  };
  const [typeField, nameField, sizeField, edgeCountField] = ['type', 'name', 'self_size', 'edge_count'].map(
    (name) => at(meta.node_fields, name),
  ) as [number, number, number, number];
  const [edgeTypeField, edgeNameField, edgeToField] = ['type', 'name_or_index', 'to_node'].map((name) =>
    at(meta.edge_fields, name),
  ) as [number, number, number];
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const weak = edgeTypes.indexOf('weak');
  const count = raw.nodes.length / nodeWidth;
  const firstEdge = new Int32Array(count + 1);
  for (let node = 0; node < count; node++)
    firstEdge[node + 1] =
      (firstEdge[node] as number) + (raw.nodes[node * nodeWidth + edgeCountField] as number);
  const className = new Array<string>(count);
  const selfSize = new Float64Array(count);
  for (let node = 0; node < count; node++) {
    const base = node * nodeWidth;
    const type = nodeTypes[raw.nodes[base + typeField] as number] as string;
    const name = raw.strings[raw.nodes[base + nameField] as number] as string;
    className[node] = classOf(type, name);
    selfSize[node] = raw.nodes[base + sizeField] as number;
  }
  const targets = (node: number, visit: (target: number) => void) => {
    for (let edge = firstEdge[node] as number; edge < (firstEdge[node + 1] as number); edge++) {
      const base = edge * edgeWidth;
      if (raw.edges[base + edgeTypeField] === weak) continue;
      visit((raw.edges[base + edgeToField] as number) / nodeWidth);
    }
  };
  const fields = (node: number): [string, number][] => {
    const found: [string, number][] = [];
    for (let edge = firstEdge[node] as number; edge < (firstEdge[node + 1] as number); edge++) {
      const base = edge * edgeWidth;
      const type = edgeTypes[raw.edges[base + edgeTypeField] as number];
      if (type !== 'property' && type !== 'context' && type !== 'internal') continue;
      const name = raw.strings[raw.edges[base + edgeNameField] as number] as string;
      found.push([name, (raw.edges[base + edgeToField] as number) / nodeWidth]);
    }
    return found;
  };
  const idom = dominators(count, targets);
  const retained = Float64Array.from(selfSize);
  const { order, subtreeEnd, position } = dominatorPreorder(count, idom);
  for (let index = count - 1; index > 0; index--) {
    const node = order[index] as number;
    if (node < 0) continue;
    const parent = idom[node] as number;
    if (parent >= 0 && parent !== node)
      retained[parent] = (retained[parent] as number) + (retained[node] as number);
  }
  const childrenStart = (node: number) => (position[node] as number) + 1;
  return { count, className, selfSize, retained, idom, fields, order, subtreeEnd, childrenStart };
}

/** What a node is counted as: its constructor for objects, its kind (and function name) otherwise. */
function classOf(type: string, name: string): string {
  if (type === 'object' || type === 'native') return name.split(' ')[0] || '(anonymous object)';
  if (type === 'closure') return `(closure) ${name || 'anonymous'}`;
  if (type === 'string' || type === 'concatenated string' || type === 'sliced string') return '(string)';
  return `(${type})`;
}

/**
 * Immediate dominators from node 0 (the snapshot's root), by the iterative algorithm of Cooper,
 * Harvey and Kennedy over a reverse post-order; unreachable nodes get -1.
 */
function dominators(
  count: number,
  targets: (node: number, visit: (target: number) => void) => void,
): Int32Array {
  const postorder = new Int32Array(count).fill(-1); // node -> post-order number
  const byPost: number[] = [];
  const predecessors: number[][] = Array.from({ length: count }, () => []);
  const seen = new Uint8Array(count);
  const stack: number[] = [0];
  const childLists: number[][] = [];
  seen[0] = 1;
  const childrenOf = (node: number) => {
    const children: number[] = [];
    targets(node, (target) => {
      (predecessors[target] as number[]).push(node);
      if (!seen[target]) {
        seen[target] = 1;
        children.push(target);
      }
    });
    return children;
  };
  childLists.push(childrenOf(0));
  while (stack.length > 0) {
    const children = childLists.at(-1) as number[];
    const next = children.pop();
    if (next !== undefined) {
      stack.push(next);
      childLists.push(childrenOf(next));
      continue;
    }
    const node = stack.pop() as number;
    childLists.pop();
    postorder[node] = byPost.length;
    byPost.push(node);
  }
  const idom = new Int32Array(count).fill(-1);
  idom[0] = 0;
  const intersect = (left: number, right: number) => {
    let a = left;
    let b = right;
    while (a !== b) {
      while ((postorder[a] as number) < (postorder[b] as number)) a = idom[a] as number;
      while ((postorder[b] as number) < (postorder[a] as number)) b = idom[b] as number;
    }
    return a;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let index = byPost.length - 2; index >= 0; index--) {
      const node = byPost[index] as number;
      let candidate = -1;
      for (const predecessor of predecessors[node] as number[]) {
        if (idom[predecessor] === -1) continue;
        candidate = candidate === -1 ? predecessor : intersect(predecessor, candidate);
      }
      if (candidate !== -1 && idom[node] !== candidate) {
        idom[node] = candidate;
        changed = true;
      }
    }
  }
  return idom;
}

/** The dominator tree in pre-order (unreachable nodes last, as -1), each node's subtree as a range. */
function dominatorPreorder(
  count: number,
  idom: Int32Array,
): { order: Int32Array; subtreeEnd: Int32Array; position: Int32Array } {
  const children: number[][] = Array.from({ length: count }, () => []);
  for (let node = 1; node < count; node++) {
    const parent = idom[node] as number;
    if (parent >= 0) (children[parent] as number[]).push(node);
  }
  const order = new Int32Array(count).fill(-1);
  const position = new Int32Array(count).fill(-1);
  const subtreeEnd = new Int32Array(count);
  let next = 0;
  const stack: [number, number][] = [[0, 0]];
  position[0] = next;
  order[next++] = 0;
  while (stack.length > 0) {
    const top = stack.at(-1) as [number, number];
    const [node, childIndex] = top;
    const list = children[node] as number[];
    if (childIndex < list.length) {
      top[1]++;
      const child = list[childIndex] as number;
      position[child] = next;
      order[next++] = child;
      stack.push([child, 0]);
    } else {
      subtreeEnd[node] = next;
      stack.pop();
    }
  }
  return { order, subtreeEnd, position };
}

interface ClassTotals {
  count: number;
  self: number;
  /** Retained by the instances not dominated by another instance of the same class. */
  retained: number;
}

function totalsByClass(heap: Heap): Map<string, ClassTotals> {
  const totals = new Map<string, ClassTotals>();
  const inside = new Map<string, number>(); // instances of a class on the current dominator path
  const exits: [number, string][] = []; // [pre-order index where a subtree ends, its class]
  for (let index = 0; index < heap.count; index++) {
    const node = heap.order[index] as number;
    if (node < 0) break;
    while (exits.length > 0 && (exits.at(-1) as [number, string])[0] <= index) {
      const [, name] = exits.pop() as [number, string];
      inside.set(name, (inside.get(name) ?? 1) - 1);
    }
    const name = heap.className[node] as string;
    const entry = totals.get(name) ?? { count: 0, self: 0, retained: 0 };
    entry.count++;
    entry.self += heap.selfSize[node] as number;
    if ((inside.get(name) ?? 0) === 0) entry.retained += heap.retained[node] as number;
    totals.set(name, entry);
    inside.set(name, (inside.get(name) ?? 0) + 1);
    exits.push([heap.subtreeEnd[node] as number, name]);
  }
  return totals;
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(2);
const signed = (value: number, digits = 2) => `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;

function printTotals(label: string, totals: Map<string, ClassTotals>, heap: Heap, top: number): void {
  let total = 0;
  for (let node = 0; node < heap.count; node++) total += heap.selfSize[node] as number;
  process.stdout.write(`\n${label}: ${heap.count} nodes, ${mb(total)} MB in all\n\n`);
  process.stdout.write('| class | count | self MB | retained MB |\n| --- | ---: | ---: | ---: |\n');
  const rows = [...totals].sort((left, right) => right[1].retained - left[1].retained).slice(0, top);
  for (const [name, entry] of rows)
    process.stdout.write(`| ${name} | ${entry.count} | ${mb(entry.self)} | ${mb(entry.retained)} |\n`);
}

function printGrowth(before: Map<string, ClassTotals>, after: Map<string, ClassTotals>, top: number): void {
  const zero: ClassTotals = { count: 0, self: 0, retained: 0 };
  const rows = [...new Set([...before.keys(), ...after.keys()])].map((name) => {
    const from = before.get(name) ?? zero;
    const to = after.get(name) ?? zero;
    return {
      name,
      count: to.count - from.count,
      self: to.self - from.self,
      retained: to.retained - from.retained,
    };
  });
  process.stdout.write('\nwhat grew (after − before), by retained size\n\n');
  process.stdout.write('| class | count | self MB | retained MB |\n| --- | ---: | ---: | ---: |\n');
  for (const row of rows.sort((left, right) => right.retained - left.retained).slice(0, top))
    process.stdout.write(
      `| ${row.name} | ${signed(row.count, 0)} | ${signed(row.self / 1e6)} | ${signed(row.retained / 1e6)} |\n`,
    );
}

/** The retained size behind each property of every instance of `name`. */
function printFields(label: string, heap: Heap, name: string): void {
  for (let node = 0; node < heap.count; node++) {
    if (heap.className[node] !== name) continue;
    process.stdout.write(`\n${label}: ${name} @${node} retains ${mb(heap.retained[node] as number)} MB\n`);
    const rows = heap
      .fields(node)
      .map(([field, target]) => ({ field, target, retained: heap.retained[target] as number }))
      .filter((row) => heap.idom[row.target] === node && row.retained >= 10_000)
      .sort((left, right) => right.retained - left.retained);
    for (const row of rows)
      process.stdout.write(`  ${row.field} (${heap.className[row.target]}): ${mb(row.retained)} MB\n`);
  }
}

/**
 * The dominator tree down to what holds at least `minBytes`: where the big parts of the heap hang,
 * each shown by class and the property it is reached by.
 */
function printTree(label: string, heap: Heap, minBytes: number): void {
  process.stdout.write(`\n${label}: dominator tree, nodes retaining ≥ ${mb(minBytes)} MB\n`);
  const names = new Map<number, string>(); // child -> the property its dominator reaches it by
  const walk = (node: number, depth: number) => {
    const children: number[] = [];
    for (let index = heap.childrenStart(node); index < (heap.subtreeEnd[node] as number); ) {
      const child = heap.order[index] as number;
      if ((heap.retained[child] as number) >= minBytes) children.push(child);
      index = heap.subtreeEnd[child] as number;
    }
    for (const [field, target] of heap.fields(node)) if (!names.has(target)) names.set(target, field);
    children.sort((left, right) => (heap.retained[right] as number) - (heap.retained[left] as number));
    for (const child of children) {
      const via = names.get(child);
      process.stdout.write(
        `${'  '.repeat(depth)}${via === undefined ? '' : `.${via} `}${heap.className[child]} @${child}: ${mb(heap.retained[child] as number)} MB\n`,
      );
      if (depth < 12) walk(child, depth + 1);
    }
  };
  walk(0, 1);
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    top: { type: 'string', default: '30' },
    fields: { type: 'string', multiple: true },
    tree: { type: 'string' },
  },
});
const top = Number(values.top);
const [beforePath, afterPath] = positionals;
if (beforePath === undefined) throw new Error('usage: heap-summary <snapshot> [<later snapshot>]');
const before = load(beforePath);
const beforeTotals = totalsByClass(before);
printTotals(beforePath, beforeTotals, before, top);
for (const name of values.fields ?? []) printFields(beforePath, before, name);
if (values.tree !== undefined) printTree(beforePath, before, Number(values.tree) * 1e6);
if (afterPath !== undefined) {
  const after = load(afterPath);
  const afterTotals = totalsByClass(after);
  printTotals(afterPath, afterTotals, after, top);
  for (const name of values.fields ?? []) printFields(afterPath, after, name);
  if (values.tree !== undefined) printTree(afterPath, after, Number(values.tree) * 1e6);
  printGrowth(beforeTotals, afterTotals, top);
}
