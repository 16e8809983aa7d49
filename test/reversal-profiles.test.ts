/**
 * @module test/reversal-profiles.test
 * The built-in reversal profiles against the real servers: `@modelcontextprotocol/server-filesystem`
 * (in a temp directory) and `@modelcontextprotocol/server-memory` (MEMORY_FILE_PATH in a temp
 * directory), each driven by the SDK Client over stdio. For every tool: take the captures the compiled
 * reversal asks for (refusing the call when one is not accepted, as the harness does), run the call,
 * build its compensation, run that, and check the state is restored: the directory tree byte for byte
 * (ignoring `.reins-trash`), the memory graph as sets. Where the result matters, the undo gets the
 * result as the harness records it (through the policy's output redaction) or one that lies. No Reins
 * gateway here: this checks the profiles, the harness and rollback are tested elsewhere.
 */
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePolicy } from '../src/policy/compile-policy.js';
import { formatProblem } from '../src/policy/policy-problem.js';
import type { PreparedPolicy } from '../src/policy/prepared-policy.js';
import type { CapturedValue, ReversalCall } from '../src/policy/reversal.js';
import type { ReversalFacts } from '../src/spec/reversal.js';

const require = createRequire(import.meta.url);
const FILESYSTEM_SERVER = require.resolve('@modelcontextprotocol/server-filesystem/dist/index.js');
const MEMORY_SERVER = require.resolve('@modelcontextprotocol/server-memory/dist/index.js');

const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: profiles }
tools:
  - { server: "*", name: "*", risk: medium, effects: [read, write] }
rollback:
  profiles:
    - { profile: server-filesystem, server: fs }
    - { profile: server-memory, server: memory }
redaction:
  detectors: [email]
  outputs: { email: redact }
`;

let policy: PreparedPolicy;
let directory: string;
let root: string;
let fs: Client;
let memory: Client;
let decisions = 0;

async function connect(
  script: string,
  args: string[],
  env: Record<string, string> = {},
  prefix: readonly string[] = [],
): Promise<Client> {
  const [command, ...before] = [...prefix, process.execPath];
  const transport = new StdioClientTransport({
    command: command as string,
    args: [...before, script, ...args],
    env: { ...(process.env as Record<string, string>), ...env },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'reversal-profiles-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

beforeAll(async () => {
  const compiled = compilePolicy([{ file: 'profiles.yaml', text: POLICY }]);
  if (!compiled.ok) throw new Error(compiled.problems.map(formatProblem).join('\n'));
  policy = compiled.policy;
  directory = mkdtempSync(join(tmpdir(), 'reins-reversal-profiles-'));
  root = join(directory, 'files');
  mkdirSync(root);
  fs = await connect(FILESYSTEM_SERVER, [root]);
  memory = await connect(MEMORY_SERVER, [], { MEMORY_FILE_PATH: join(directory, 'memory.jsonl') });
}, 30_000);

afterAll(async () => {
  await fs?.close();
  await memory?.close();
  if (directory) rmSync(directory, { recursive: true, force: true });
});

interface ToolResult {
  readonly isError?: boolean;
  readonly content?: unknown;
  readonly structuredContent?: unknown;
}

/** A tool call as the harness would see its outcome: a result, or a failure's text. */
async function run(client: Client, name: string, args: Record<string, unknown>): Promise<CapturedValue> {
  try {
    const result = (await client.callTool({ name, arguments: args })) as ToolResult;
    if (result.isError !== true) return { ok: true, result };
    return { ok: false, error: textOf(result) };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

function textOf(result: ToolResult): string {
  const content = Array.isArray(result.content) ? result.content : [];
  return content.map((item: { text?: string }) => item.text ?? '').join('\n');
}

/** What a governed call left behind for its undo. */
interface Done {
  readonly server: string;
  /** The server process it ran on (and its undo runs on). */
  readonly client: Client;
  readonly call: ReversalCall;
  readonly outcome: CapturedValue;
  readonly captured: Record<string, CapturedValue>;
  readonly facts: ReversalFacts;
  /** What the call changes, as the profile names it. */
  readonly resources: readonly string[];
}

/**
 * Takes the captures, then runs the call, as the harness does; a capture that is not accepted stops
 * the call (it does not run).
 */
async function governed(
  server: 'fs' | 'memory',
  name: string,
  args: Record<string, unknown>,
  client: Client = server === 'fs' ? fs : memory,
): Promise<Done> {
  const reversal = policy.reversalOf({ server, name });
  if (reversal === undefined) throw new Error(`no reversal for ${server}/${name}`);
  const call: ReversalCall = { decisionId: `d-${++decisions}`, sessionId: 's-1', server, name, args };
  const reads = reversal.captures(call);
  if (!reads.ok) throw new Error(reads.error);
  const captured: Record<string, CapturedValue> = {};
  for (const read of reads.value) {
    captured[read.name] = await run(client, read.tool, read.args);
    const accepted = reversal.accepts(read.name, captured[read.name] as CapturedValue, call);
    if (!accepted.ok) throw new Error(accepted.error);
    if (!accepted.value) throw new Error(`capture ${read.name} not accepted: ${captured[read.name]?.error}`);
  }
  const facts = reversal.facts(call, captured);
  const resources = reversal.resources(call);
  if (!resources.ok) throw new Error(resources.error);
  const outcome = await run(client, name, args);
  return { server, client, call, outcome, captured, facts, resources: resources.value };
}

/** Builds the compensation of a call that ran, and runs its steps; returns them. */
async function undo(done: Done): Promise<{ tool: string; args: Record<string, unknown> }[]> {
  const reversal = policy.reversalOf({ server: done.server, name: done.call.name });
  if (reversal === undefined) throw new Error('no reversal');
  const result = done.outcome.ok ? done.outcome.result : null;
  const steps = reversal.compensation(done.call, result, done.captured);
  if (!steps.ok) throw new Error(steps.error);
  for (const step of steps.value) {
    const outcome = await run(done.client, step.tool, step.args);
    if (!outcome.ok) throw new Error(`${step.tool} failed: ${outcome.error}`);
  }
  return steps.value;
}

/** Undoes calls in reverse order, as a rollback does. */
async function undoAll(done: readonly Done[]): Promise<void> {
  for (const call of [...done].reverse()) await undo(call);
}

/** Every file (its bytes' hash) and folder under the root, ignoring Reins' trash folders. */
function tree(): Record<string, string> {
  const entries: Record<string, string> = {};
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      if (entry.name === '.reins-trash') continue;
      const full = join(folder, entry.name);
      if (entry.isDirectory()) {
        entries[`${relative(root, full)}/`] = 'dir';
        walk(full);
      } else entries[relative(root, full)] = createHash('sha256').update(readFileSync(full)).digest('hex');
    }
  };
  walk(root);
  return entries;
}

function ok(done: Done): Done {
  if (!done.outcome.ok) throw new Error(`${done.call.name} failed: ${done.outcome.error}`);
  return done;
}

const REVERSIBLE = { kind: 'reversible', reversible: true };

/** The call as the harness records it: its result through the policy's output redaction. */
function recorded(done: Done): Done {
  const tool = { server: done.server, name: done.call.name };
  const redacted = policy.redaction?.redactOutput(tool, policy.toolFacts(tool), done.outcome.result);
  if (redacted === undefined) throw new Error('the test policy has no redaction');
  return { ...done, outcome: { ok: true, result: redacted.value } };
}

/** The call with a result that says something else than what happened (a lying upstream or agent). */
function claiming(done: Done, structuredContent: Record<string, unknown>): Done {
  const result = { content: [{ type: 'text', text: JSON.stringify(structuredContent) }], structuredContent };
  return { ...done, outcome: { ok: true, result } };
}

describe('server-filesystem', () => {
  it('write_file over an existing file: the exact bytes come back', async () => {
    const path = join(root, 'notes.txt');
    writeFileSync(path, '\uFEFFline one\r\nline two — ünïcødé 🎉\n');
    const before = tree();
    const done = ok(await governed('fs', 'write_file', { path, content: 'replaced' }));
    expect(done.facts).toEqual(REVERSIBLE);
    expect(done.resources).toEqual([path]);
    expect(readFileSync(path, 'utf8')).toBe('replaced');
    expect(await undo(done)).toEqual([{ tool: 'write_file', args: { path, content: expect.any(String) } }]);
    expect(tree()).toEqual(before);
  });

  it('write_file of a new file (relative path): the file is moved into the trash folder', async () => {
    const before = tree();
    const done = ok(await governed('fs', 'write_file', { path: 'fresh.txt', content: 'new' }));
    expect(done.captured.before).toEqual({ ok: false, error: expect.stringContaining('ENOENT') });
    expect(done.facts).toEqual(REVERSIBLE);
    expect(tree()).not.toEqual(before);
    await undo(done);
    expect(tree()).toEqual(before);
    expect(readFileSync(join(root, '.reins-trash', done.call.decisionId, 'fresh.txt'), 'utf8')).toBe('new');
  });

  it('a file in a new subdirectory: both undone in reverse order', async () => {
    const before = tree();
    const folder = join(root, 'reports');
    const made = ok(await governed('fs', 'create_directory', { path: folder }));
    expect(made.facts).toEqual(REVERSIBLE);
    const written = ok(
      await governed('fs', 'write_file', { path: join(folder, 'q1.md'), content: '# Q1\n' }),
    );
    await undoAll([made, written]);
    expect(tree()).toEqual(before);
  });

  it('create_directory of nested new folders is not exact; of an existing folder there is nothing to undo', async () => {
    const nested = await governed('fs', 'create_directory', { path: join(root, 'a', 'b', 'c') });
    expect(nested.facts).toEqual({
      kind: 'unavailable',
      reversible: false,
      reason: expect.stringContaining('parent folders'),
    });
    mkdirSync(join(root, 'existing'));
    const before = tree();
    const again = ok(await governed('fs', 'create_directory', { path: join(root, 'existing') }));
    expect(again.facts).toEqual(REVERSIBLE);
    expect(await undo(again)).toEqual([]);
    expect(tree()).toEqual(before);
  });

  it('edit_file: the file comes back byte for byte; a dry run changes nothing and has nothing to undo', async () => {
    const path = join(root, 'config.yaml');
    writeFileSync(path, 'name: demo\r\nreplicas: 2\r\n');
    const before = tree();
    const dry = ok(
      await governed('fs', 'edit_file', {
        path,
        edits: [{ oldText: 'replicas: 2', newText: 'replicas: 3' }],
        dryRun: true,
      }),
    );
    expect(tree()).toEqual(before);
    expect(await undo(dry)).toEqual([]);
    const edit = ok(
      await governed('fs', 'edit_file', {
        path,
        edits: [{ oldText: 'replicas: 2', newText: 'replicas: 3' }],
      }),
    );
    expect(readFileSync(path, 'utf8')).toContain('replicas: 3');
    await undo(edit);
    expect(tree()).toEqual(before);
  });

  it('move_file: moved back', async () => {
    const source = join(root, 'draft.txt');
    writeFileSync(source, 'draft');
    const before = tree();
    const done = ok(await governed('fs', 'move_file', { source, destination: join(root, 'final.txt') }));
    expect(done.facts).toEqual(REVERSIBLE);
    expect(done.resources).toEqual([source, join(root, 'final.txt')]);
    await undo(done);
    expect(tree()).toEqual(before);
  });

  it('a binary file cannot be written back: not exact, and its compensation refuses to guess', async () => {
    for (const name of ['logo.png', 'blob.bin']) {
      const path = join(root, name);
      writeFileSync(path, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff, 0xfe, 0x00, 0x01]));
      const done = ok(await governed('fs', 'write_file', { path, content: 'text now' }));
      expect(done.facts).toEqual({
        kind: 'unavailable',
        reversible: false,
        reason: expect.stringContaining('not UTF-8'),
      });
      await expect(undo(done)).rejects.toThrow(/not valid UTF-8/);
    }
  });

  it('a capture that fails for another reason than a missing file stops the call', async () => {
    const outside = join(directory, 'outside.txt');
    await expect(governed('fs', 'write_file', { path: outside, content: 'x' })).rejects.toThrow(
      /capture before not accepted: .*Access denied/,
    );
  });

  it('a failed read whose text merely contains ENOENT (in the path) is not "absent": the call does not run', async () => {
    await expect(
      governed('fs', 'write_file', { path: join(directory, 'ENOENT', 'x.txt'), content: 'x' }),
    ).rejects.toThrow(/capture before not accepted: Access denied/);
    await expect(governed('fs', 'create_directory', { path: join(directory, 'ENOENT') })).rejects.toThrow(
      /capture existed not accepted: Access denied/,
    );
  });

  it('resources name each path normalised, however the call spells it', async () => {
    const before = tree();
    const done: Done[] = [];
    done.push(ok(await governed('fs', 'write_file', { path: `${root}/sub/..//./same.txt`, content: 'a' })));
    expect(done[0]?.resources).toEqual([join(root, 'same.txt')]);
    const edit = { path: './sub/../same.txt', edits: [{ oldText: 'a', newText: 'b' }] };
    done.push(ok(await governed('fs', 'edit_file', edit)));
    expect(done[1]?.resources).toEqual(['same.txt']);
    done.push(ok(await governed('fs', 'create_directory', { path: `${root}//made/` })));
    expect(done[2]?.resources).toEqual([join(root, 'made')]);
    const move = { source: `${root}/made/../same.txt`, destination: `${root}/made//moved.txt/` };
    done.push(ok(await governed('fs', 'move_file', move)));
    expect(done[3]?.resources).toEqual([join(root, 'same.txt'), join(root, 'made', 'moved.txt')]);
    await undoAll(done);
    expect(tree()).toEqual(before);
  });

  it('a whole session, undone in reverse: the tree is back byte for byte', async () => {
    writeFileSync(join(root, 'session.txt'), 'one\ntwo\n');
    const before = tree();
    const done: Done[] = [];
    done.push(ok(await governed('fs', 'create_directory', { path: join(root, 'out') })));
    done.push(ok(await governed('fs', 'write_file', { path: join(root, 'out', 'x.txt'), content: 'x' })));
    done.push(
      ok(
        await governed('fs', 'edit_file', {
          path: join(root, 'session.txt'),
          edits: [{ oldText: 'two', newText: 'three' }],
        }),
      ),
    );
    done.push(
      ok(
        await governed('fs', 'move_file', {
          source: join(root, 'session.txt'),
          destination: join(root, 'out', 's.txt'),
        }),
      ),
    );
    done.push(
      ok(await governed('fs', 'write_file', { path: join(root, 'out', 's.txt'), content: 'overwritten' })),
    );
    await undoAll(done);
    expect(tree()).toEqual(before);
  });
});

/** Root reads any file: the server then runs as `nobody`, so that a file can be unreadable to it. */
const UNPRIVILEGED =
  process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];

describe('server-filesystem, a file the server may not read', () => {
  let locked: string;
  let client: Client;

  beforeAll(async () => {
    locked = mkdtempSync(join(tmpdir(), 'reins-reversal-locked-'));
    chmodSync(locked, 0o777);
    client = await connect(FILESYSTEM_SERVER, [locked], {}, UNPRIVILEGED);
  }, 30_000);

  afterAll(async () => {
    await client?.close();
    if (locked) rmSync(locked, { recursive: true, force: true });
  });

  it('an EACCES read is not "absent" because the file is named ENOENT: the call does not run', async () => {
    const path = join(locked, 'ENOENT.txt');
    writeFileSync(path, 'the only copy');
    chmodSync(path, 0o000);
    await expect(governed('fs', 'write_file', { path, content: 'overwritten' }, client)).rejects.toThrow(
      /capture before not accepted: EACCES/,
    );
    chmodSync(path, 0o600);
    expect(readFileSync(path, 'utf8')).toBe('the only copy');
  });
});

interface Graph {
  entities: { name: string; entityType: string; observations: string[] }[];
  relations: { from: string; to: string; relationType: string }[];
}

/** The memory graph as sets: entities by name (observations as a set), relations as a set. */
async function graph(): Promise<{ entities: string[]; relations: string[] }> {
  const read = await run(memory, 'read_graph', {});
  if (!read.ok) throw new Error(read.error);
  const { entities, relations } = (read.result as { structuredContent: Graph }).structuredContent;
  return {
    entities: entities
      .map((entity) => JSON.stringify([entity.name, entity.entityType, [...entity.observations].sort()]))
      .sort(),
    relations: relations.map((relation) => JSON.stringify(relation)).sort(),
  };
}

describe('server-memory', () => {
  beforeAll(async () => {
    const seed = await run(memory, 'create_entities', {
      entities: [
        { name: 'ana', entityType: 'person', observations: ['likes tea', 'works at acme'] },
        { name: 'acme', entityType: 'company', observations: ['founded 1999'] },
        { name: 'bob', entityType: 'person', observations: [] },
      ],
    });
    const relations = await run(memory, 'create_relations', {
      relations: [
        { from: 'ana', to: 'acme', relationType: 'works_at' },
        { from: 'bob', to: 'ana', relationType: 'knows' },
        { from: 'bob', to: 'acme', relationType: 'applied_to' },
      ],
    });
    if (!seed.ok || !relations.ok) throw new Error('cannot seed the memory graph');
  });

  it('create_entities: deletes only the entities the call created', async () => {
    const before = await graph();
    const done = ok(
      await governed('memory', 'create_entities', {
        entities: [
          { name: 'carl', entityType: 'person', observations: ['new'] },
          { name: 'ana', entityType: 'person', observations: ['would be ignored'] },
        ],
      }),
    );
    expect(await undo(done)).toEqual([{ tool: 'delete_entities', args: { entityNames: ['carl'] } }]);
    expect(await graph()).toEqual(before);
  });

  it('create_entities, create_relations, add_observations: undone from the arguments and captures, not from the redacted result', async () => {
    const before = await graph();
    const created = recorded(
      ok(
        await governed('memory', 'create_entities', {
          entities: [{ name: 'dana@example.com', entityType: 'person', observations: ['new'] }],
        }),
      ),
    );
    expect(JSON.stringify(created.outcome.result)).toContain('[REDACTED:email]');
    expect(JSON.stringify(created.outcome.result)).not.toContain('dana@example.com');
    const related = recorded(
      ok(
        await governed('memory', 'create_relations', {
          relations: [{ from: 'dana@example.com', to: 'acme', relationType: 'works_at' }],
        }),
      ),
    );
    const observed = recorded(
      ok(
        await governed('memory', 'add_observations', {
          observations: [{ entityName: 'ana', contents: ['writes to ana@example.com', 'likes tea'] }],
        }),
      ),
    );
    expect(await graph()).not.toEqual(before);
    await undoAll([created, related, observed]);
    expect(await graph()).toEqual(before);
  });

  it('a result naming what the call did not add cannot widen the undo', async () => {
    const before = await graph();
    const created = ok(
      await governed('memory', 'create_entities', {
        entities: [{ name: 'fern', entityType: 'person', observations: [] }],
      }),
    );
    const related = ok(
      await governed('memory', 'create_relations', {
        relations: [{ from: 'fern', to: 'acme', relationType: 'likes' }],
      }),
    );
    const observed = ok(
      await governed('memory', 'add_observations', {
        observations: [{ entityName: 'ana', contents: ['met fern'] }],
      }),
    );
    const bob = { name: 'bob', entityType: 'person', observations: [] };
    const lies = [
      claiming(created, { entities: [{ name: 'fern', entityType: 'person', observations: [] }, bob] }),
      claiming(related, {
        relations: [
          { from: 'fern', to: 'acme', relationType: 'likes' },
          { from: 'bob', to: 'ana', relationType: 'knows' },
        ],
      }),
      claiming(observed, { results: [{ entityName: 'ana', addedObservations: ['met fern', 'likes tea'] }] }),
    ];
    await undoAll(lies);
    expect(await graph()).toEqual(before);
  });

  it('create_entities of a name older relations already named: the undo gives those relations back (and may run twice)', async () => {
    // another session related "gail" before anyone created her, which server-memory accepts
    const older = [
      { from: 'gail', to: 'acme', relationType: 'applied_to' },
      { from: 'bob', to: 'gail', relationType: 'knows' },
    ];
    if (!(await run(memory, 'create_relations', { relations: older })).ok) throw new Error('cannot relate');
    const before = await graph();
    const done = ok(
      await governed('memory', 'create_entities', {
        entities: [{ name: 'gail', entityType: 'person', observations: [] }],
      }),
    );
    expect(done.facts).toEqual(REVERSIBLE);
    const steps = await undo(done);
    expect(steps).toEqual([
      { tool: 'delete_entities', args: { entityNames: ['gail'] } },
      { tool: 'create_relations', args: { relations: older } },
    ]);
    expect(await graph()).toEqual(before);
    await undo(done);
    expect(await graph()).toEqual(before);
    if (!(await run(memory, 'delete_relations', { relations: older })).ok) throw new Error('cannot clean up');
  });

  it('create_relations and add_observations: removes what was added', async () => {
    const before = await graph();
    const related = ok(
      await governed('memory', 'create_relations', {
        relations: [
          { from: 'ana', to: 'bob', relationType: 'mentors' },
          { from: 'ana', to: 'acme', relationType: 'works_at' },
        ],
      }),
    );
    const observed = ok(
      await governed('memory', 'add_observations', {
        observations: [{ entityName: 'ana', contents: ['likes tea', 'speaks French'] }],
      }),
    );
    await undoAll([related, observed]);
    expect(await graph()).toEqual(before);
  });

  it('delete_entities: the entities, their observations and every relation that touched them come back', async () => {
    const before = await graph();
    const done = ok(await governed('memory', 'delete_entities', { entityNames: ['ana', 'nobody'] }));
    expect(done.facts).toEqual(REVERSIBLE);
    expect(done.resources).toEqual(['ana', 'nobody']);
    const after = await graph();
    expect(after.entities.some((entity) => entity.includes('"ana"'))).toBe(false);
    expect(after.relations).toEqual([
      JSON.stringify({ from: 'bob', to: 'acme', relationType: 'applied_to' }),
    ]);
    await undo(done);
    expect(await graph()).toEqual(before);
  });

  it('delete_observations: adds back the observations that existed (at the end of the list)', async () => {
    const before = await graph();
    const done = ok(
      await governed('memory', 'delete_observations', {
        deletions: [
          { entityName: 'ana', observations: ['likes tea', 'never said'] },
          { entityName: 'ghost', observations: ['x'] },
        ],
      }),
    );
    expect(await undo(done)).toEqual([
      {
        tool: 'add_observations',
        args: { observations: [{ entityName: 'ana', contents: ['likes tea'] }] },
      },
    ]);
    expect(await graph()).toEqual(before);
  });

  it('add_observations naming an entity that does not exist changes nothing, and has nothing to undo', async () => {
    const before = await graph();
    const done = await governed('memory', 'add_observations', {
      observations: [
        { entityName: 'ana', contents: ['would be new'] },
        { entityName: 'ghost', contents: ['x'] },
      ],
    });
    expect(done.outcome).toEqual({ ok: false, error: expect.stringContaining('ghost not found') });
    expect(await graph()).toEqual(before);
    expect(await undo(done)).toEqual([]);
  });

  it('delete_observations of an observation held twice: it comes back twice', async () => {
    const seeded = await run(memory, 'create_entities', {
      entities: [{ name: 'hal', entityType: 'robot', observations: ['dup', 'kept', 'dup'] }],
    });
    if (!seeded.ok) throw new Error('cannot seed');
    const before = await graph();
    const done = ok(
      await governed('memory', 'delete_observations', {
        deletions: [{ entityName: 'hal', observations: ['dup'] }],
      }),
    );
    expect(await undo(done)).toEqual([
      { tool: 'add_observations', args: { observations: [{ entityName: 'hal', contents: ['dup', 'dup'] }] } },
    ]);
    expect(await graph()).toEqual(before);
    await undo(done);
    expect(await graph()).toEqual(before);
    if (!(await run(memory, 'delete_entities', { entityNames: ['hal'] })).ok)
      throw new Error('cannot clean up');
  });

  it('delete_relations: creates back those that existed', async () => {
    const before = await graph();
    const done = ok(
      await governed('memory', 'delete_relations', {
        relations: [
          { from: 'bob', to: 'ana', relationType: 'knows' },
          { from: 'bob', to: 'ana', relationType: 'never-was' },
        ],
      }),
    );
    expect(done.resources).toEqual(['bob', 'ana']);
    expect(await undo(done)).toEqual([
      { tool: 'create_relations', args: { relations: [{ from: 'bob', to: 'ana', relationType: 'knows' }] } },
    ]);
    expect(await graph()).toEqual(before);
  });

  it('a session of creations and deletions, undone in reverse, leaves the graph as it was', async () => {
    const before = await graph();
    const done: Done[] = [];
    done.push(
      ok(
        await governed('memory', 'create_entities', {
          entities: [{ name: 'dora', entityType: 'person', observations: ['joined'] }],
        }),
      ),
    );
    done.push(
      ok(
        await governed('memory', 'create_relations', {
          relations: [{ from: 'dora', to: 'acme', relationType: 'works_at' }],
        }),
      ),
    );
    done.push(ok(await governed('memory', 'delete_entities', { entityNames: ['acme'] })));
    done.push(
      ok(
        await governed('memory', 'delete_observations', {
          deletions: [{ entityName: 'bob', observations: [] }],
        }),
      ),
    );
    await undoAll(done);
    expect(await graph()).toEqual(before);
  });
});
