/**
 * @module test/support/quickstart-sandbox
 * A stand-in for a fresh clone after `npm ci`, in a temp directory, where the README's Quick start can
 * run as written without touching the checkout (its `.reins/`, keys, lock and work directory) or the
 * shared node_modules: `examples/gateway/` copied; `node_modules/` of links to the checkout's packages,
 * with `node_modules/.bin/reins` linking this checkout's bin/reins.js (what `npx reins` finds, as npm
 * would link it) and a copy of server-memory (it keeps its file next to itself: see reins.yaml). The
 * only change to the copy: the two ports, so that the test never collides with a running gateway.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const MCP_SCOPE = '@modelcontextprotocol';
/** Files the Quick start itself writes into the example: a stale copy must not leak into a run. */
const WRITTEN_BY_A_RUN = ['work/summary.md'];

export interface QuickstartSandbox {
  /** The stand-in for the repository root: every block runs here. */
  readonly dir: string;
  readonly gatewayPort: number;
  readonly controlPort: number;
  /** A user's terminal: no REINS_* and no npm_* variables (those of a surrounding `npm test`). */
  readonly env: NodeJS.ProcessEnv;
}

/** A port nobody listens on now (asked from the system, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function linkNodeModules(dir: string): void {
  const modules = join(dir, 'node_modules');
  mkdirSync(join(modules, '.bin'), { recursive: true });
  mkdirSync(join(modules, MCP_SCOPE));
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    if (name.startsWith('.') || name === MCP_SCOPE) continue;
    symlinkSync(join(ROOT, 'node_modules', name), join(modules, name));
  }
  for (const name of readdirSync(join(ROOT, 'node_modules', MCP_SCOPE))) {
    const from = join(ROOT, 'node_modules', MCP_SCOPE, name);
    const to = join(modules, MCP_SCOPE, name);
    if (name === 'server-memory') cpSync(from, to, { recursive: true, dereference: true });
    else symlinkSync(from, to);
  }
  symlinkSync(join(ROOT, 'bin/reins.js'), join(modules, '.bin/reins'));
}

/** Copies the example and gives it free ports; returns where to run the README's blocks. */
export async function createQuickstartSandbox(): Promise<QuickstartSandbox> {
  if (!existsSync(join(ROOT, 'dist/bundle/reins.cjs'))) {
    throw new Error(
      'bin/reins.js runs the built CLI (its bundle): run `npm run build` first (`npm test` does)',
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'reins-quickstart-'));
  const example = join(ROOT, 'examples/gateway');
  cpSync(example, join(dir, 'examples/gateway'), {
    recursive: true,
    filter: (source) => !WRITTEN_BY_A_RUN.includes(relative(example, source)),
  });
  linkNodeModules(dir);
  const gatewayPort = await freePort();
  const controlPort = await freePort();
  const config = join(dir, 'examples/gateway/reins.yaml');
  const original = readFileSync(config, 'utf8');
  const moved = original
    .replace('port: 8788', `port: ${gatewayPort}`)
    .replace('port: 8789', `port: ${controlPort}`);
  if (moved.split('\n').filter((line, index) => line !== original.split('\n')[index]).length !== 2) {
    throw new Error('examples/gateway/reins.yaml no longer has `port: 8788` and `port: 8789`');
  }
  writeFileSync(config, moved);
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(REINS_|npm_)/i.test(name)),
  );
  return { dir, gatewayPort, controlPort, env: { ...env, NPM_CONFIG_UPDATE_NOTIFIER: 'false' } };
}

export interface RunningBlock {
  readonly child: ChildProcess;
  /** Everything written so far. */
  readonly output: () => { stdout: string; stderr: string };
  /** Resolves when the block's shell exits. */
  readonly exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/**
 * Runs a block as a user's shell would run the pasted lines, except that a failing command ends it
 * (`sh -e`): in its own process group, so that it and everything it started can be stopped together.
 */
export function startBlock(script: string, sandbox: QuickstartSandbox): RunningBlock {
  const child = spawn('sh', ['-e', '-c', script], {
    cwd: sandbox.dir,
    env: sandbox.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((done, fail) => {
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
  return { child, output: () => ({ stdout, stderr }), exited };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone already
  }
}

/**
 * Stops a block and whatever it started (its process group) as Ctrl-C would, and waits for its shell
 * to exit; a group still there after 15 s is killed (a cleanup, not something the test asserts).
 */
export async function stopBlock(block: RunningBlock): Promise<void> {
  const { pid, exitCode, signalCode } = block.child;
  if (pid === undefined || exitCode !== null || signalCode !== null) return;
  signalGroup(pid, 'SIGINT');
  const kill = setTimeout(() => signalGroup(pid, 'SIGKILL'), 15_000);
  await block.exited;
  clearTimeout(kill);
}

/** Runs a block to its end; a non-zero exit throws with what it wrote. */
export async function runBlock(script: string, sandbox: QuickstartSandbox): Promise<string> {
  const result = await startBlock(script, sandbox).exited;
  if (result.code !== 0) {
    throw new Error(`the block\n${script}exited with ${result.code}:\n${result.stderr}${result.stdout}`);
  }
  return result.stdout;
}
