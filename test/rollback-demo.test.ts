/**
 * @module test/rollback-demo.test
 * examples/rollback/README.md, run as written, so that the demo cannot drift from the product: every
 * marked command block (`<!-- rollback-demo:run -->`, `... keeps-running`, `... differs`), in order, in
 * a stand-in for a fresh clone (the example copied into a temp directory, `node_modules` linked, with
 * `npx reins` resolving to this checkout's CLI, and the gateway on a free port). Then it checks what the
 * README promises: the bot's nine changes ran and the logo write was held; the damage shows in a diff;
 * the dry run plans the undo and changes nothing; the rollback ends with the line the README shows; the
 * project is restored byte for byte; every undo is on record and the log verifies.
 */
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, StopWaiting } from './support/eventually.js';
import {
  type QuickstartSandbox,
  type RunningBlock,
  startBlock,
  stopBlock,
} from './support/quickstart-sandbox.js';
import { snapshot } from './support/rollback-deployment.js';

const ROOT = resolve(import.meta.dirname, '..');
const EXAMPLE = join(ROOT, 'examples/rollback');
const README = readFileSync(join(EXAMPLE, 'README.md'), 'utf8');
/** The port examples/rollback/reins.yaml listens on, replaced by a free one in the copy. */
const PORT = 'port: 8794';

type Mode = 'run' | 'keeps-running' | 'differs';
interface Block {
  readonly mode: Mode;
  readonly script: string;
}

/** The marked `sh` blocks of the README, in order. */
function blocksOf(readme: string): Block[] {
  const marked = /<!-- rollback-demo:run(?: (keeps-running|differs))? -->\n```sh\n([\s\S]*?)```\n/g;
  return [...readme.matchAll(marked)].map((match) => ({
    mode: (match[1] as Mode | undefined) ?? 'run',
    script: match[2] as string,
  }));
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** A fresh clone: the example copied, node_modules linked (with `reins` on npx's path), a free port. */
async function createSandbox(): Promise<QuickstartSandbox> {
  const dir = mkdtempSync(join(tmpdir(), 'reins-rollback-demo-'));
  cpSync(EXAMPLE, join(dir, 'examples/rollback'), { recursive: true });
  const modules = join(dir, 'node_modules');
  mkdirSync(join(modules, '.bin'), { recursive: true });
  for (const name of readdirSync(join(ROOT, 'node_modules')))
    if (!name.startsWith('.')) symlinkSync(join(ROOT, 'node_modules', name), join(modules, name));
  symlinkSync(join(ROOT, 'bin/reins.js'), join(modules, '.bin/reins'));
  const gatewayPort = await freePort();
  const config = join(dir, 'examples/rollback/reins.yaml');
  const original = readFileSync(config, 'utf8');
  if (!original.includes(PORT)) throw new Error(`examples/rollback/reins.yaml no longer has \`${PORT}\``);
  writeFileSync(config, original.replace(PORT, `port: ${gatewayPort}`));
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(REINS_|npm_)/i.test(name)),
  );
  return { dir, gatewayPort, controlPort: 0, env: { ...env, NPM_CONFIG_UPDATE_NOTIFIER: 'false' } };
}

let sandbox: QuickstartSandbox;
let gateway: RunningBlock | undefined;
/** Each block's standard output (and its exit code), in README order. */
const outputs: { script: string; code: number | null; stdout: string; stderr: string }[] = [];

async function startGateway(script: string): Promise<RunningBlock> {
  const started = startBlock(script, sandbox);
  let exited = false;
  void started.exited.then(() => {
    exited = true;
  });
  await eventually(
    () => {
      if (exited) throw new StopWaiting(`the gateway block exited:\n${started.output().stderr}`);
      return started.output().stdout.includes('listening on');
    },
    { timeoutMs: 60_000, intervalMs: 250, what: () => `the gateway (stderr: ${started.output().stderr})` },
  );
  return started;
}

beforeAll(async () => {
  sandbox = await createSandbox();
  const blocks = blocksOf(README);
  expect(blocks.map((block) => block.mode)).toContain('keeps-running');
  for (const block of blocks) {
    if (block.mode === 'keeps-running') {
      gateway = await startGateway(block.script);
      outputs.push({ script: block.script, code: null, stdout: '', stderr: '' });
      continue;
    }
    const result = await startBlock(block.script, sandbox).exited;
    outputs.push({ script: block.script, ...result });
    const expected = block.mode === 'differs' ? 1 : 0;
    if (result.code !== expected)
      throw new Error(
        `the block\n${block.script}exited with ${result.code}:\n${result.stderr}${result.stdout}`,
      );
  }
}, 110_000);

afterAll(async () => {
  if (gateway !== undefined) await stopBlock(gateway);
  if (sandbox) rmSync(sandbox.dir, { recursive: true, force: true });
});

function runOf(command: RegExp): (typeof outputs)[number] {
  const found = outputs.find((output) => command.test(output.script));
  if (found === undefined) throw new Error(`no block runs ${command}`);
  return found;
}

function outputOf(command: RegExp): string {
  return runOf(command).stdout;
}

describe('examples/rollback, as its README says', () => {
  it('lets the bot make nine changes and holds the tenth, which could not be undone', () => {
    const agent = outputOf(/agent\.mjs/);
    expect(agent.match(/^ {3}-> ok$/gm)).toHaveLength(9);
    expect(agent).toContain(
      '-> held: waiting for human approval (keep this request open: if you stop waiting, the call is abandoned): an action that cannot be undone needs a human',
    );
    // what the README shows of it is what it printed
    for (const line of README.split('\n').filter((each) => /^\d+\. fs__/.test(each)))
      expect(agent).toContain(line);
  });

  it('shows the damage, then a plan that undoes all of it', () => {
    const damage = outputOf(/^diff -r examples/);
    expect(damage).toContain('Only in .reins/rollback/project: NOTES-2.0.md');
    expect(damage).toContain('> replicas: 0');
    const plan = outputOf(/--dry-run/);
    expect(plan.match(/: undo$/gm)).toHaveLength(9);
    expect(plan).toContain('fs/list_allowed_directories: nothing-to-undo (it only read)');
    expect(plan).not.toContain('logo.png');
  });

  it('restores the project byte for byte in one command, ending as the README says', () => {
    const done = README.split('\n').find((line) => line.startsWith('rollback of session `release-42` done:'));
    expect(done).toBeDefined();
    expect(outputOf(/--reason "release-bot broke the project"/)).toContain(done);
    expect(outputOf(/diff -r -x \.reins-trash/)).toBe('the project is as it was\n');
    expect(snapshot(join(sandbox.dir, '.reins/rollback/project'))).toEqual(
      snapshot(join(EXAMPLE, 'project')),
    );
  });

  it('has every undo and the rollback itself on record, and a log that verifies', () => {
    const record = outputOf(/audit query --session reins\.rollback\/release-42/);
    expect(record.match(/fs\/(write_file|move_file|create_directory)/g)?.length).toBeGreaterThanOrEqual(9);
    expect(record).toContain('session.rollback.done');
    expect(record).toMatch(/^ok: .*audit\.db: \d+ records, chain intact/m);
  });

  it('shows the operator no warning of a leak while the rollback runs its steps', () => {
    // each step's upstream request added an abort listener to one shared signal, never removed
    expect(runOf(/--reason "release-bot broke the project"/).stderr).not.toContain(
      'MaxListenersExceededWarning',
    );
  });
});
