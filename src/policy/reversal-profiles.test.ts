/**
 * @module policy/reversal-profiles.test
 * The built-in profiles are valid policy (ReversalSchema, strictly) and compile; what they build from
 * results shaped as the real servers return them. test/reversal-profiles.test.ts runs them against the
 * real servers.
 */
import { describe, expect, it } from 'vitest';
import { REVERSAL_PROFILE_NAMES, ReversalSchema } from '../spec/reversal.js';
import type { CompiledReversal, ReversalCall } from './reversal.js';
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

  it('server-memory add_observations: deletes what the result says was added', () => {
    const add = reversal('server-memory', 'add_observations');
    const call = callOf('add_observations', { observations: [{ entityName: 'ana', contents: ['x', 'y'] }] });
    const result = { structuredContent: { results: [{ entityName: 'ana', addedObservations: ['y'] }] } };
    expect(add.compensation(call, result, {})).toEqual({
      ok: true,
      value: [
        { tool: 'delete_observations', args: { deletions: [{ entityName: 'ana', observations: ['y'] }] } },
      ],
    });
    const none = { structuredContent: { results: [{ entityName: 'ana', addedObservations: [] }] } };
    expect(add.compensation(call, none, {})).toEqual({ ok: true, value: [] });
    expect(add.resources(call)).toEqual({ ok: true, value: ['ana'] });
  });
});
