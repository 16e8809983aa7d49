/**
 * @module policy/reversal-profiles
 * The built-in reversal profiles a policy applies to its servers (`rollback: profiles:`), written as
 * data in the policy format (each entry is what a catalogue entry's `reversal` would say), for
 * `@modelcontextprotocol/server-filesystem` and `@modelcontextprotocol/server-memory` (checked against
 * version 2026.8.31 of both, by test/reversal-profiles.test.ts against the real servers). Read-only
 * tools have no entry: there is nothing to undo. docs/policy.md says what each undo does and where it
 * is not exact.
 */
import type { z } from 'zod';
import { type ReversalProfileName, ReversalSchema } from '../spec/reversal.js';
import { type CompiledReversal, compileReversal } from './reversal.js';

type ReversalInput = z.input<typeof ReversalSchema>;

/** The raw bytes `read_media_file` returned as base64 (image and audio as `data`, the rest as a blob). */
const BYTES_BEFORE =
  'cel.bind(c, captured.before.result.content[0], c.type == "resource" ? c.resource.blob : c.data)';

/** The Reins trash folder beside `path`, one per call (server-filesystem has no delete tool). */
function trashBeside(path: string): string {
  return `dirname(${path}) + "/.reins-trash/" + call.decisionId`;
}

/** Move what the call created at `path` into the trash folder (created first). */
function moveToTrash(path: string, when: string) {
  return [
    { tool: 'create_directory', when, args: { path: trashBeside(path) } },
    {
      tool: 'move_file',
      when,
      args: { source: path, destination: `${trashBeside(path)} + "/" + basename(${path})` },
    },
  ];
}

/** A missing file or folder is a failed read whose text says ENOENT: that is "absent", and fine. */
const PRESENT_OR_ABSENT = 'capture.ok || capture.error.contains("ENOENT")';

const DRY_RUN = '(has(args.dryRun) && args.dryRun == true)';

const NOT_UTF8 =
  'the file held content that is not UTF-8 text, which write_file cannot write back byte for byte';

const filesystem: Record<string, ReversalInput> = {
  write_file: {
    capture: [
      { name: 'before', tool: 'read_media_file', args: { path: 'args.path' }, accept: PRESENT_OR_ABSENT },
    ],
    compensate: [
      {
        tool: 'write_file',
        when: 'captured.before.ok',
        args: { path: 'args.path', content: `base64Utf8(${BYTES_BEFORE})` },
      },
      ...moveToTrash('args.path', '!captured.before.ok'),
    ],
    exact: `!captured.before.ok || isBase64Utf8(${BYTES_BEFORE})`,
    inexact: NOT_UTF8,
    resources: '[args.path]',
  },
  edit_file: {
    // a missing file is accepted so that the agent sees the server's own error: the edit fails
    capture: [
      { name: 'before', tool: 'read_media_file', args: { path: 'args.path' }, accept: PRESENT_OR_ABSENT },
    ],
    compensate: [
      {
        tool: 'write_file',
        when: `captured.before.ok && !${DRY_RUN}`,
        args: { path: 'args.path', content: `base64Utf8(${BYTES_BEFORE})` },
      },
    ],
    exact: `${DRY_RUN} || !captured.before.ok || isBase64Utf8(${BYTES_BEFORE})`,
    inexact: NOT_UTF8,
    resources: '[args.path]',
    idempotent: true,
  },
  move_file: {
    compensate: [{ tool: 'move_file', args: { source: 'args.destination', destination: 'args.source' } }],
    resources: '[args.source, args.destination]',
  },
  create_directory: {
    capture: [
      { name: 'existed', tool: 'get_file_info', args: { path: 'args.path' }, accept: PRESENT_OR_ABSENT },
      // only tells whether the parent was there: a failure to read it never stops the call
      { name: 'parent', tool: 'get_file_info', args: { path: 'dirname(args.path)' }, accept: 'true' },
    ],
    compensate: moveToTrash('args.path', '!captured.existed.ok'),
    exact: 'captured.existed.ok || captured.parent.ok',
    inexact:
      'create_directory also creates missing parent folders; the undo moves aside only the folder it was asked for',
    resources: '[args.path]',
  },
};

const GRAPH = 'captured.graph.result.structuredContent';
const NODES = 'captured.nodes.result.structuredContent';
const SAME_RELATION = 'd.from == r.from && d.to == r.to && d.relationType == r.relationType';
const RELATION_FIELDS = '{"from": r.from, "to": r.to, "relationType": r.relationType}';
const RELATION_ENDS = 'args.relations.map(r, r.from) + args.relations.map(r, r.to)';
const DELETED_RELATIONS = `${GRAPH}.relations.filter(r, args.relations.exists(d, ${SAME_RELATION}))`;
const TOUCHED_RELATIONS = `${GRAPH}.relations.filter(r, r.from in args.entityNames || r.to in args.entityNames)`;
/** The observations a deletion named that the entity had (as captured before it ran). */
const HAD = `${NODES}.entities.exists(e, e.name == d.entityName && o in e.observations)`;

const memory: Record<string, ReversalInput> = {
  create_entities: {
    compensate: [
      {
        tool: 'delete_entities',
        when: 'result.structuredContent.entities.size() > 0',
        args: { entityNames: 'result.structuredContent.entities.map(e, e.name)' },
      },
    ],
    resources: 'args.entities.map(e, e.name)',
    idempotent: true,
  },
  create_relations: {
    compensate: [
      {
        tool: 'delete_relations',
        when: 'result.structuredContent.relations.size() > 0',
        args: { relations: `result.structuredContent.relations.map(r, ${RELATION_FIELDS})` },
      },
    ],
    resources: RELATION_ENDS,
    idempotent: true,
  },
  add_observations: {
    compensate: [
      {
        tool: 'delete_observations',
        when: 'result.structuredContent.results.exists(r, r.addedObservations.size() > 0)',
        args: {
          deletions:
            'result.structuredContent.results.map(r, {"entityName": r.entityName, "observations": r.addedObservations})',
        },
      },
    ],
    resources: 'args.observations.map(o, o.entityName)',
    idempotent: true,
  },
  delete_entities: {
    capture: [{ name: 'graph', tool: 'read_graph', args: {} }],
    compensate: [
      {
        tool: 'create_entities',
        when: `${GRAPH}.entities.exists(e, e.name in args.entityNames)`,
        args: {
          entities: `${GRAPH}.entities.filter(e, e.name in args.entityNames).map(e, {"name": e.name, "entityType": e.entityType, "observations": e.observations})`,
        },
      },
      {
        tool: 'create_relations',
        when: `${TOUCHED_RELATIONS}.size() > 0`,
        args: { relations: `${TOUCHED_RELATIONS}.map(r, ${RELATION_FIELDS})` },
      },
    ],
    resources: 'args.entityNames',
    idempotent: true,
  },
  delete_observations: {
    capture: [{ name: 'nodes', tool: 'open_nodes', args: { names: 'args.deletions.map(d, d.entityName)' } }],
    compensate: [
      {
        tool: 'add_observations',
        when: `args.deletions.exists(d, d.observations.exists(o, ${HAD}))`,
        args: {
          observations: `args.deletions.filter(d, ${NODES}.entities.exists(e, e.name == d.entityName)).map(d, {"entityName": d.entityName, "contents": d.observations.filter(o, ${HAD})})`,
        },
      },
    ],
    resources: 'args.deletions.map(d, d.entityName)',
    idempotent: true,
  },
  delete_relations: {
    capture: [{ name: 'graph', tool: 'read_graph', args: {} }],
    compensate: [
      {
        tool: 'create_relations',
        when: `${DELETED_RELATIONS}.size() > 0`,
        args: { relations: `${DELETED_RELATIONS}.map(r, ${RELATION_FIELDS})` },
      },
    ],
    resources: RELATION_ENDS,
    idempotent: true,
  },
};

/** The profiles as written: tool name → reversal, for each built-in profile. */
export const REVERSAL_PROFILES: Readonly<
  Record<ReversalProfileName, Readonly<Record<string, ReversalInput>>>
> = {
  'server-filesystem': filesystem,
  'server-memory': memory,
};

export type CompiledProfile =
  | { readonly ok: true; readonly reversals: ReadonlyMap<string, CompiledReversal> }
  | { readonly ok: false; readonly message: string };

const compiled = new Map<ReversalProfileName, CompiledProfile>();

/** A profile compiled (once per process); a profile that does not compile is reported, never used. */
export function compiledProfile(name: ReversalProfileName): CompiledProfile {
  const cached = compiled.get(name);
  if (cached !== undefined) return cached;
  const profile = compileProfile(name);
  compiled.set(name, profile);
  return profile;
}

function compileProfile(name: ReversalProfileName): CompiledProfile {
  const reversals = new Map<string, CompiledReversal>();
  for (const [tool, document] of Object.entries(REVERSAL_PROFILES[name])) {
    const parsed = ReversalSchema.safeParse(document);
    if (!parsed.success)
      return { ok: false, message: `built-in profile \`${name}\`: \`${tool}\` is not a valid reversal` };
    const result = compileReversal(parsed.data);
    if (!result.ok) {
      const first = result.problems[0];
      const where = first ? `\`${tool}.${first.path.join('.')}\`: ${first.message}` : `\`${tool}\``;
      return { ok: false, message: `built-in profile \`${name}\` does not compile: ${where}` };
    }
    reversals.set(tool, result.reversal);
  }
  return { ok: true, reversals };
}
