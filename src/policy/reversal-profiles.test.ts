/**
 * @module policy/reversal-profiles.test
 * The built-in profiles are valid policy (ReversalSchema, strictly) and compile; what they accept and
 * build from captures shaped as the real servers return them; `normalizePath` against Node's
 * path.posix.normalize. test/reversal-profiles.test.ts runs them against the real servers.
 */
import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REVERSAL_PROFILE_NAMES, ReversalSchema } from '../spec/reversal.js';
import type { CompiledReversal, ReversalCall } from './reversal.js';
import { normalizePath } from './reversal-functions.js';
import { compiledProfile, REVERSAL_PROFILES } from './reversal-profiles.js';

function reversal(profile: 'server-filesystem' | 'server-memory', tool: string): CompiledReversal {
  const compiled = compiledProfile(profile);
  if (!compiled.ok) throw new Error(compiled.message);
  const found = compiled.reversals.get(tool);
  if (found === undefined) throw new Error(`no ${tool} in ${profile}`);
  return found;
}

function callOf(name: string, args: Record<string, unknown>): ReversalCall {
  return { decisionId: 'd-7', sessionId: 's-1', server: 'fs', name, args };
}

const base64 = (text: string | Uint8Array) => Buffer.from(text).toString('base64');
const media = (data: string) => ({
  ok: true,
  result: { content: [{ type: 'resource', resource: { uri: 'file:///x', blob: data } }] },
});

describe('the built-in profiles', () => {
  it.each(REVERSAL_PROFILE_NAMES)('%s is valid policy and compiles', (name) => {
    for (const [tool, document] of Object.entries(REVERSAL_PROFILES[name])) {
      expect(ReversalSchema.safeParse(document).success, tool).toBe(true);
    }
    const compiled = compiledProfile(name);
    expect(compiled.ok ? [...compiled.reversals.keys()] : compiled.message).toEqual(
      Object.keys(REVERSAL_PROFILES[name]),
    );
  });

  it('server-filesystem write_file: writes back what was there, or moves a new file into the trash', () => {
    const write = reversal('server-filesystem', 'write_file');
    const call = callOf('write_file', { path: 'docs/a.txt', content: 'new' });
    expect(write.captures(call)).toEqual({
      ok: true,
      value: [{ name: 'before', tool: 'read_media_file', args: { path: 'docs/a.txt' } }],
    });
    expect(write.compensation(call, {}, { before: media(base64('old\n')) })).toEqual({
      ok: true,
      value: [{ tool: 'write_file', args: { path: 'docs/a.txt', content: 'old\n' } }],
    });
    const absent = { ok: false, error: "ENOENT: no such file or directory, open '/srv/docs/a.txt'" };
    expect(write.accepts('before', absent, call)).toEqual({ ok: true, value: true });
    expect(write.accepts('before', { ok: false, error: 'Access denied' }, call)).toEqual({
      ok: true,
      value: false,
    });
    expect(write.compensation(call, {}, { before: absent })).toEqual({
      ok: true,
      value: [
        { tool: 'create_directory', args: { path: 'docs/.reins-trash/d-7' } },
        { tool: 'move_file', args: { source: 'docs/a.txt', destination: 'docs/.reins-trash/d-7/a.txt' } },
      ],
    });
  });

  it('server-filesystem write_file over a binary file is not exactly reversible', () => {
    const write = reversal('server-filesystem', 'write_file');
    const call = callOf('write_file', { path: 'logo.png', content: 'x' });
    const png = {
      ok: true,
      result: { content: [{ type: 'image', data: base64(new Uint8Array([0x89, 0xff])) }] },
    };
    expect(write.facts(call, { before: png })).toEqual({
      kind: 'unavailable',
      reversible: false,
      reason: expect.stringContaining('not UTF-8'),
    });
    expect(write.compensation(call, {}, { before: png })).toEqual({
      ok: false,
      error: expect.stringContaining('not valid UTF-8'),
    });
  });

  it('server-filesystem edit_file: a dry run has nothing to undo', () => {
    const edit = reversal('server-filesystem', 'edit_file');
    const before = { before: media(base64('a\n')) };
    const dry = callOf('edit_file', { path: 'a.txt', edits: [], dryRun: true });
    expect(edit.compensation(dry, {}, before)).toEqual({ ok: true, value: [] });
    const real = callOf('edit_file', { path: 'a.txt', edits: [] });
    expect(edit.compensation(real, {}, before)).toEqual({
      ok: true,
      value: [{ tool: 'write_file', args: { path: 'a.txt', content: 'a\n' } }],
    });
  });

  it('server-filesystem: only the server\'s own ENOENT message for the path is "absent"', () => {
    const write = reversal('server-filesystem', 'write_file');
    const call = callOf('write_file', { path: 'docs/../ENOENT.txt', content: 'x' });
    const failed = (error: string) => write.accepts('before', { ok: false, error }, call);
    expect(failed("ENOENT: no such file or directory, open '/srv/ENOENT.txt'")).toEqual({
      ok: true,
      value: true,
    });
    for (const error of [
      "EACCES: permission denied, open '/srv/ENOENT.txt'",
      'Access denied - path outside allowed directories: /ENOENT.txt not in /srv',
      "ENOENT: no such file or directory, open '/srv/other.txt'",
      "ENOENT: no such file or directory, stat '/srv/ENOENT.txt'",
      "ENOENT: no such file or directory, open '/srv/ENOENT.txt' and more",
      "x ENOENT: no such file or directory, open '/srv/ENOENT.txt'",
    ])
      expect(failed(error), error).toEqual({ ok: true, value: false });
    const made = reversal('server-filesystem', 'create_directory');
    const folder = callOf('create_directory', { path: '/srv/new/' });
    const stat = { ok: false, error: "ENOENT: no such file or directory, stat '/srv/new'" };
    expect(made.accepts('existed', stat, folder)).toEqual({ ok: true, value: true });
    const open = { ok: false, error: "ENOENT: no such file or directory, open '/srv/new'" };
    expect(made.accepts('existed', open, folder)).toEqual({ ok: true, value: false });
  });

  it('server-filesystem: resources are the paths normalised', () => {
    const cases: [string, Record<string, unknown>, string[]][] = [
      ['write_file', { path: 'dir/../a.txt', content: '' }, ['a.txt']],
      ['edit_file', { path: '/srv//docs/./a.txt', edits: [] }, ['/srv/docs/a.txt']],
      ['create_directory', { path: './out/' }, ['out']],
      ['move_file', { source: 'a//b', destination: 'c/../b' }, ['a/b', 'b']],
    ];
    for (const [tool, args, resources] of cases)
      expect(reversal('server-filesystem', tool).resources(callOf(tool, args))).toEqual({
        ok: true,
        value: resources,
      });
  });

  it('server-memory create_entities: deletes the named entities that did not exist, gives back the relations that named them', () => {
    const create = reversal('server-memory', 'create_entities');
    const call = callOf('create_entities', {
      entities: [
        { name: 'ana', entityType: 'person', observations: [] },
        { name: 'gail', entityType: 'person', observations: [] },
      ],
    });
    expect(create.captures(call)).toEqual({
      ok: true,
      value: [{ name: 'graph', tool: 'read_graph', args: {} }],
    });
    const graph = {
      ok: true,
      result: {
        structuredContent: {
          entities: [{ name: 'ana', entityType: 'person', observations: ['x'] }],
          relations: [
            { from: 'ana', to: 'acme', relationType: 'works_at' },
            { from: 'gail', to: 'acme', relationType: 'applied_to' },
          ],
        },
      },
    };
    const lie = {
      structuredContent: { entities: [{ name: 'bob', entityType: 'person', observations: [] }] },
    };
    expect(create.compensation(call, lie, { graph })).toEqual({
      ok: true,
      value: [
        { tool: 'delete_entities', args: { entityNames: ['gail'] } },
        {
          tool: 'create_relations',
          args: { relations: [{ from: 'gail', to: 'acme', relationType: 'applied_to' }] },
        },
      ],
    });
    expect(create.resources(call)).toEqual({ ok: true, value: ['ana', 'gail'] });
  });

  it('server-memory add_observations: deletes the named contents the entity did not have, whatever the result says', () => {
    const add = reversal('server-memory', 'add_observations');
    const call = callOf('add_observations', { observations: [{ entityName: 'ana', contents: ['x', 'y'] }] });
    expect(add.captures(call)).toEqual({
      ok: true,
      value: [{ name: 'nodes', tool: 'open_nodes', args: { names: ['ana'] } }],
    });
    const nodes = (observations: string[]) => ({
      ok: true,
      result: {
        structuredContent: { entities: [{ name: 'ana', entityType: 'p', observations }], relations: [] },
      },
    });
    const redacted = {
      structuredContent: { results: [{ entityName: 'ana', addedObservations: ['[REDACTED:email]'] }] },
    };
    expect(add.compensation(call, redacted, { nodes: nodes(['x']) })).toEqual({
      ok: true,
      value: [
        { tool: 'delete_observations', args: { deletions: [{ entityName: 'ana', observations: ['y'] }] } },
      ],
    });
    expect(add.compensation(call, null, { nodes: nodes(['x', 'y']) })).toEqual({ ok: true, value: [] });
    expect(add.resources(call)).toEqual({ ok: true, value: ['ana'] });
  });
});

describe('normalizePath', () => {
  const paths = [
    '',
    '.',
    './',
    '..',
    '../',
    '/',
    '//',
    '///a//b/',
    '/..',
    '/../a',
    'a/../..',
    'a/b/../../..',
    '/a/b/../../..',
    'dir/../file',
    './file',
    'a//b',
    'a/./b/.',
    'a/',
    '/srv/data/notes.txt',
    '.hidden/..a/...',
    'a/b/c/../../d',
  ];

  it.each(paths)('is POSIX path.normalize without a trailing slash for %j', (path) => {
    const node = posix.normalize(path);
    expect(normalizePath(path)).toBe(node.length > 1 && node.endsWith('/') ? node.slice(0, -1) : node);
  });
});
