/**
 * @module test/readme-quickstart.test
 * The README's Quick start, run as written, so that it cannot drift from the product: every marked
 * command block of the walkthrough runs, in order, in a stand-in for a fresh clone (test/support/
 * quickstart-sandbox), with `npx reins` resolving to this checkout's CLI. `reins serve` keeps running
 * in the background; the README's agent (examples/gateway/try-it.mjs, an official SDK client) runs
 * until its held call is approved, and the test approves it in the console (Chromium), as the README
 * tells the reader to. Then it checks what the README promises: a denial, a call held and
 * approved, a secret redacted in what the agent saw and in everything Reins stored, memory guarded,
 * and `reins audit verify` saying the log is intact.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { launchChromium } from './support/console-fixture.js';
import { eventually, present, StopWaiting } from './support/eventually.js';
import {
  createQuickstartSandbox,
  type QuickstartSandbox,
  type RunningBlock,
  runBlock,
  startBlock,
  stopBlock,
} from './support/quickstart-sandbox.js';
import { type BlockMode, quickstartBlocks, type ReadmeBlock } from './support/readme-blocks.js';

const ROOT = resolve(import.meta.dirname, '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
/** The key in examples/gateway/work/deploy-notes.md and in what try-it.mjs "pastes" into memory. */
const KEY = 'AKIAIOSFODNN7EXAMPLE';
const PLACEHOLDER = '[REDACTED:aws_access_key]';

interface QuickstartRun {
  /** Standard output of each block, in README order (the serve block's: what it printed until stopped). */
  readonly outputs: string[];
  /** The approval request once it was decided in the console. */
  readonly approval: { status: string; tool: unknown; votes: { actor: { id: string }; approved: boolean }[] };
}

let sandbox: QuickstartSandbox;
const started: RunningBlock[] = [];
let run: QuickstartRun;

/** A fresh clone on a slow machine: `npx` and the first start of servers from npm take their time. */
const SLOW = { timeoutMs: 120_000, intervalMs: 250 };

async function startServe(block: ReadmeBlock): Promise<RunningBlock> {
  const serve = startBlock(block.script, sandbox);
  started.push(serve);
  let exited = false;
  void serve.exited.then(() => {
    exited = true;
  });
  await eventually(
    () => {
      if (exited) throw new StopWaiting(`the serve block exited:\n${serve.output().stderr}`);
      return serve.output().stdout.includes('console and API on');
    },
    { ...SLOW, what: () => `reins serve starting (its stderr: ${serve.output().stderr})` },
  );
  return serve;
}

/**
 * Step 5 as the README tells it: once the agent's call is held, open the console in Chromium, log in
 * with the stored token, open Approvals, give a reason and press Approve. Returns the request as the
 * control API then shows it.
 */
async function approveInConsole(agent: RunningBlock): Promise<QuickstartRun['approval']> {
  const token = readFileSync(join(sandbox.dir, '.reins/you.token'), 'utf8').trim();
  const consoleUrl = `http://127.0.0.1:${sandbox.controlPort}/`;
  const headers = { authorization: `Bearer ${token}` };
  const pending = await eventually(
    async () => {
      if (agent.child.exitCode !== null)
        throw new StopWaiting(`the agent ended early:\n${agent.output().stderr}`);
      const response = await fetch(`${consoleUrl}v1/approvals?status=pending`, { headers });
      const { approvals } = (await response.json()) as { approvals: { id: string }[] };
      return present(approvals[0], 'no approval is pending');
    },
    { ...SLOW, what: () => `a held call (the agent printed: ${agent.output().stdout})` },
  );
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(consoleUrl);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('link', { name: 'Approvals' }).click();
    const card = page.getByTestId('approval').filter({ hasText: 'summary.md' });
    await card.getByLabel('Reason (recorded)').fill('a summary of the deploy notes is fine');
    await card.getByTestId('approve').click();
    return await eventually(
      async () => {
        const response = await fetch(`${consoleUrl}v1/approvals/${pending.id}`, { headers });
        const record = (await response.json()) as QuickstartRun['approval'];
        expect(record.status).not.toBe('pending');
        return record;
      },
      { ...SLOW, what: 'the approval from the console' },
    );
  } finally {
    await browser.close();
  }
}

async function runBlockOf(
  block: ReadmeBlock,
): Promise<{ stdout: string; approval?: QuickstartRun['approval'] }> {
  if (block.mode === 'run') return { stdout: await runBlock(block.script, sandbox) };
  const agent = startBlock(block.script, sandbox);
  started.push(agent);
  const approval = await approveInConsole(agent);
  const result = await agent.exited;
  if (result.code !== 0)
    throw new Error(`the agent failed (${result.code}):\n${result.stderr}${result.stdout}`);
  return { stdout: result.stdout, approval };
}

async function runQuickstart(blocks: ReadmeBlock[]): Promise<QuickstartRun> {
  const outputs: string[] = [];
  let approval: QuickstartRun['approval'] | undefined;
  let serve: RunningBlock | undefined;
  for (const block of blocks) {
    if (block.mode === 'keeps-running') {
      serve = await startServe(block);
      outputs.push('');
      continue;
    }
    const result = await runBlockOf(block);
    outputs.push(result.stdout);
    approval ??= result.approval;
  }
  if (serve === undefined || approval === undefined)
    throw new Error('the Quick start starts no server or holds no call');
  await stopBlock(serve);
  outputs[blocks.findIndex((block) => block.mode === 'keeps-running')] = serve.output().stdout;
  return { outputs, approval };
}

const blocks = quickstartBlocks(README);
const marked = blocks.filter((block) => block.mode !== undefined);
const outputOf = (mode: BlockMode, nth = 0) => {
  const index = marked.map((block, at) => (block.mode === mode ? at : -1)).filter((at) => at >= 0)[nth];
  if (index === undefined) throw new Error(`no ${mode} block number ${nth}`);
  return run.outputs[index] ?? '';
};
const blockRunning = (command: RegExp) => marked.findIndex((block) => command.test(block.script));

/** try-it.mjs prints `N. tool {args}`, then `   -> verdict:` and what came back: step N's parts. */
function step(n: number): { header: string; verdict: string; result: string } {
  const agent = outputOf('waits-for-approval');
  const text = agent.split(/\n(?=\d+\. )/).find((part) => part.startsWith(`${n}. `));
  if (text === undefined) throw new Error(`the agent printed no step ${n}:\n${agent}`);
  const arrow = /\n {3}-> ([^:\n]+):\n/.exec(text);
  return {
    header: arrow === null ? text : text.slice(0, arrow.index),
    verdict: arrow?.[1] ?? '',
    result: arrow === null ? '' : text.slice(arrow.index + arrow[0].length),
  };
}

/** Every file Reins and the memory server wrote in the sandbox's `.reins/`, as text. */
function storedFiles(): Map<string, string> {
  const directory = join(sandbox.dir, '.reins');
  return new Map(
    readdirSync(directory).map((name) => [name, readFileSync(join(directory, name)).toString('latin1')]),
  );
}

describe('the README Quick start, run as written', () => {
  beforeAll(async () => {
    sandbox = await createQuickstartSandbox();
    run = await runQuickstart(marked);
  }, 600_000);

  afterAll(async () => {
    for (const block of started) await stopBlock(block);
    // undefined when creating it failed
    if (sandbox as QuickstartSandbox | undefined) rmSync(sandbox.dir, { recursive: true, force: true });
  }, 60_000);

  it('runs every command block of the walkthrough but the install', () => {
    expect(blocks.filter((block) => block.mode === undefined).map((block) => block.script)).toEqual([
      expect.stringMatching(/^npm ci /),
    ]);
    expect(marked.map((block) => block.mode)).toEqual([
      'keeps-running',
      'run',
      'run',
      'waits-for-approval',
      'run',
      'run',
    ]);
    expect(marked[0]?.script).toMatch(/^npx reins serve --config examples\/gateway\/reins\.yaml\n$/);
  });

  it('tells the reader to approve the held call in the console, where the example config puts it', () => {
    const config = parse(readFileSync(join(ROOT, 'examples/gateway/reins.yaml'), 'utf8'));
    const consoleStep = marked.find((block) => block.mode === 'waits-for-approval')?.after ?? '';
    expect(consoleStep).toContain(`http://127.0.0.1:${config.control.listen.port}/`);
    expect(consoleStep).toMatch(/Approve it in the console/);
    expect(consoleStep).toContain('log in with your token');
    expect(consoleStep).toContain('**Approvals**');
    expect(README).toContain(`http://127.0.0.1:${config.listen.port}${config.listen.path}`);
  });

  it('starts the gateway and the console where it says', () => {
    const serve = outputOf('keeps-running');
    expect(serve).toContain(`MCP gateway on http://127.0.0.1:${sandbox.gatewayPort}/mcp`);
    expect(serve).toContain(`console and API on http://127.0.0.1:${sandbox.controlPort}/`);
  });

  it('shows the agent only the tools the policy may let it use', () => {
    const tools = step(1).header;
    for (const visible of ['fs__read_text_file', 'fs__write_file', 'memory__create_entities']) {
      expect(tools).toContain(visible);
    }
    for (const hidden of ['fs__move_file', 'fs__edit_file', 'fs__create_directory']) {
      expect(tools).not.toContain(hidden);
    }
  });

  it('refuses the move, saying why, and the file stays where it was', () => {
    expect(step(5).header).toContain('fs__move_file');
    expect(step(5).verdict).toBe('error');
    expect(step(5).result).toMatch(
      /^ {5}Reins refused this call: the assistant never edits, moves or renames files/,
    );
    expect(readdirSync(join(sandbox.dir, 'examples/gateway/work')).sort()).toEqual([
      'README.txt',
      'deploy-notes.md',
      'summary.md',
    ]);
  });

  it('holds the write until it is approved from the console, then runs it', () => {
    expect(step(6).header).toContain('fs__write_file');
    expect(step(6).header).toContain(
      '... held: waiting for human approval (keep this request open: if you stop waiting, the call is abandoned): a human approves every file the assistant writes',
    );
    // `used` once the released call has spent it: both mean approved
    expect(['approved', 'used']).toContain(run.approval.status);
    expect(run.approval.tool).toEqual({ server: 'fs', name: 'write_file' });
    expect(run.approval.votes).toEqual([
      expect.objectContaining({ actor: expect.objectContaining({ id: 'you@example.com' }), approved: true }),
    ]);
    expect(step(6).verdict).toBe('approved, then ran');
    expect(step(6).result).toContain('Successfully wrote to');
    expect(readFileSync(join(sandbox.dir, 'examples/gateway/work/summary.md'), 'utf8')).toBe(
      'Deploys run on Tuesdays from the release branch.\n',
    );
  });

  it('shows the agent a placeholder where the file has a key', () => {
    expect(step(2).verdict).toBe('ok');
    expect(step(2).result).toContain(`aws_access_key_id = ${PLACEHOLDER}`);
    expect(step(2).result).not.toContain(KEY);
  });

  it('guards memory: the pasted key is stored as its placeholder, under the tenant', () => {
    expect(step(3).header).toContain(KEY); // what the agent sent
    for (const n of [3, 4]) {
      expect(step(n).verdict).toBe('ok');
      expect(step(n).result).toContain(`deploy key from the chat: ${PLACEHOLDER}`);
      expect(step(n).result).not.toContain(KEY);
    }
    const memory = storedFiles().get('memory.jsonl') ?? '';
    expect(memory).toContain('"name":"owner:you@example.com/deploy"');
    expect(memory).toContain(PLACEHOLDER);
  });

  it('stores no key anywhere: audit log, memory, labels (and grep, as the README runs it, agrees)', () => {
    const stored = storedFiles();
    expect([...stored.keys()]).toEqual(
      expect.arrayContaining(['audit.db', 'memory.jsonl', 'memory-labels.db']),
    );
    for (const [name, content] of stored)
      expect({ name, hasKey: content.includes(KEY) }).toEqual({ name, hasKey: false });
    const log = [...stored].filter(([name]) => name.startsWith('audit.db')).map(([, content]) => content);
    expect(log.join('')).toContain(PLACEHOLDER);
    expect(run.outputs[blockRunning(/^grep /)]).toBe('examples/gateway/work/deploy-notes.md\n');
  });

  it('records the denial, the hold, the approval and the outcome, and verifies the log', () => {
    const audit = run.outputs[blockRunning(/audit verify/)] ?? '';
    expect(audit).toMatch(/fs\/move_file +deny\n/);
    expect(audit).toMatch(/fs\/move_file +denied\n/);
    // in the order of events: held, approved, then run
    expect(audit).toMatch(
      /fs\/write_file +approve\n(?:.*\n)*?.*operator-action.*approval\.approve\n(?:.*\n)*?.*fs\/write_file +ok\n/,
    );
    expect(audit).toMatch(
      /^ok: \.reins\/audit\.db: \d+ records, chain intact, \d+ checkpoints \(signatures checked\)/m,
    );
  });
});
