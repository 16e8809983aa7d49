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

/** The path the call names, normalised: `dir/../a.txt` is `a.txt` (the server resolves it so too). */
const PATH = 'normalizePath(args.path)';

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

/**
 * A read that failed with the server's own message for a missing `args.path` is "absent", and fine:
 * Node's ENOENT text for the absolute path it resolved (`open` by read_media_file, `stat` by
 * get_file_info), which ends with the path's last segment. Any other failure stops the call, also one
 * whose text merely mentions ENOENT (an unreadable file named `ENOENT.txt` is not absent).
 */
function presentOrAbsent(syscall: 'open' | 'stat'): string {
  const prefix = `"ENOENT: no such file or directory, ${syscall} '/"`;
  const suffix = `"/" + basename(${PATH}) + "'"`;
  return `capture.ok || (capture.error.startsWith(${prefix}) && capture.error.endsWith(${suffix}))`;
}

const DRY_RUN = '(has(args.dryRun) && args.dryRun == true)';

const NOT_UTF8 =
  'the file held content that is not UTF-8 text, which write_file cannot write back byte for byte';

const filesystem: Record<string, ReversalInput> = {
  write_file: {
    capture: [
      {
        name: 'before',
        tool: 'read_media_file',
        args: { path: 'args.path' },
        accept: presentOrAbsent('open'),
      },
    ],
    compensate: [
      {
        tool: 'write_file',
        when: 'captured.before.ok',
        args: { path: 'args.path', content: `base64Utf8(${BYTES_BEFORE})` },
      },
      ...moveToTrash(PATH, '!captured.before.ok'),
    ],
    exact: `!captured.before.ok || isBase64Utf8(${BYTES_BEFORE})`,
    inexact: NOT_UTF8,
    resources: `[${PATH}]`,
  },
  edit_file: {
    // a missing file is accepted so that the agent sees the server's own error: the edit fails
    capture: [
      {
        name: 'before',
        tool: 'read_media_file',
        args: { path: 'args.path' },
        accept: presentOrAbsent('open'),
      },
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
    resources: `[${PATH}]`,
    idempotent: true,
  },
  move_file: {
    compensate: [{ tool: 'move_file', args: { source: 'args.destination', destination: 'args.source' } }],
    resources: '[normalizePath(args.source), normalizePath(args.destination)]',
  },
  create_directory: {
    capture: [
      {
        name: 'existed',
        tool: 'get_file_info',
        args: { path: 'args.path' },
        accept: presentOrAbsent('stat'),
      },
      // only tells whether the parent was there: a failure to read it never stops the call
      { name: 'parent', tool: 'get_file_info', args: { path: `dirname(${PATH})` }, accept: 'true' },
    ],
    compensate: moveToTrash(PATH, '!captured.existed.ok'),
    exact: 'captured.existed.ok || captured.parent.ok',
    inexact:
      'create_directory also creates missing parent folders; the undo moves aside only the folder it was asked for',
    resources: `[${PATH}]`,
  },
};

/*
 * server-memory. Every undo is built from the call's arguments and the state captured before it ran,
 * never from its result: the result as recorded may be redacted (an entity named like an e-mail
 * address), and a result can lie (a malicious upstream, an agent reporting its own calls) to make the
 * undo delete what another session made. What a call added is what its arguments name that was not
 * there before.
 */
const GRAPH = 'captured.graph.result.structuredContent';
const NODES = 'captured.nodes.result.structuredContent';
const READ_GRAPH = { name: 'graph', tool: 'read_graph', args: {} };
const SAME_RELATION = 'd.from == r.from && d.to == r.to && d.relationType == r.relationType';
const RELATION_FIELDS = '{"from": r.from, "to": r.to, "relationType": r.relationType}';
const RELATION_ENDS = 'args.relations.map(r, r.from) + args.relations.map(r, r.to)';

/** The entities the call created: the names it gave that the graph did not have. */
const CREATED_NAMES = `args.entities.map(e, e.name).filter(n, !${GRAPH}.entities.exists(e, e.name == n))`;
/**
 * The relations that named them before they existed (server-memory accepts those): deleting the
 * entities deletes every relation that touches their names, so the undo creates these again.
 */
const NAMED_BEFORE = `cel.bind(created, ${CREATED_NAMES}, ${GRAPH}.relations.filter(r, r.from in created || r.to in created))`;
/** The relations the call created: those it named that the graph did not have. */
const CREATED_RELATIONS = `args.relations.filter(r, !${GRAPH}.relations.exists(d, ${SAME_RELATION}))`;
const DELETED_RELATIONS = `${GRAPH}.relations.filter(r, args.relations.exists(d, ${SAME_RELATION}))`;
const TOUCHED_RELATIONS = `${GRAPH}.relations.filter(r, r.from in args.entityNames || r.to in args.entityNames)`;

/** The captured entities named `name`, in graph order: the server acts on the first of them. */
const entityBefore = (name: string) => `${NODES}.entities.filter(e, e.name == ${name})`;
/** The contents an `add_observations` entry added: those its entity did not have before. */
const ADDED = `o.contents.filter(c, !(c in ${entityBefore('o.entityName')}[0].observations))`;
/** The server refuses the whole call (changing nothing) when an entity it names does not exist. */
const ALL_EXISTED = `args.observations.all(o, ${entityBefore('o.entityName')}.size() > 0)`;
/** The observations a deletion took from its entity, as many times as the entity held them. */
const TAKEN = `${entityBefore('d.entityName')}[0].observations.filter(o, o in d.observations)`;
const FOUND = `${entityBefore('d.entityName')}.size() > 0`;

const memory: Record<string, ReversalInput> = {
  create_entities: {
    capture: [READ_GRAPH],
    compensate: [
      {
        tool: 'delete_entities',
        when: `${CREATED_NAMES}.size() > 0`,
        args: { entityNames: CREATED_NAMES },
      },
      {
        tool: 'create_relations',
        when: `${NAMED_BEFORE}.size() > 0`,
        args: { relations: `${NAMED_BEFORE}.map(r, ${RELATION_FIELDS})` },
      },
    ],
    resources: 'args.entities.map(e, e.name)',
    idempotent: true,
  },
  create_relations: {
    capture: [READ_GRAPH],
    compensate: [
      {
        tool: 'delete_relations',
        when: `${CREATED_RELATIONS}.size() > 0`,
        args: { relations: `${CREATED_RELATIONS}.map(r, ${RELATION_FIELDS})` },
      },
    ],
    resources: RELATION_ENDS,
    idempotent: true,
  },
  add_observations: {
    capture: [
      { name: 'nodes', tool: 'open_nodes', args: { names: 'args.observations.map(o, o.entityName)' } },
    ],
    compensate: [
      {
        tool: 'delete_observations',
        when: `${ALL_EXISTED} && args.observations.exists(o, ${ADDED}.size() > 0)`,
        args: {
          deletions: `args.observations.map(o, {"entityName": o.entityName, "observations": ${ADDED}})`,
        },
      },
    ],
    resources: 'args.observations.map(o, o.entityName)',
    idempotent: true,
  },
  delete_entities: {
    capture: [READ_GRAPH],
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
        when: `args.deletions.exists(d, ${FOUND} && ${TAKEN}.size() > 0)`,
        args: {
          observations: `args.deletions.filter(d, ${FOUND}).map(d, {"entityName": d.entityName, "contents": ${TAKEN}})`,
        },
      },
    ],
    resources: 'args.deletions.map(d, d.entityName)',
    idempotent: true,
  },
  delete_relations: {
    capture: [READ_GRAPH],
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
