/**
 * @module bench/remote-protocol
 * What the remote enforcement protocol costs an agent per tool call (issue 15), against calling the
 * tool unwrapped, in the same run:
 *   - unwrapped: the tool function itself (a trivial async echo);
 *   - harness.call: the in-process pipeline (the peer: the same store, decision, records);
 *   - LocalGovernor: the adapters' in-process mode (open + complete through the harness, each request
 *     authenticated with the agent's credential);
 *   - RemoteGovernor: the protocol over HTTP (keep-alive) to a `reins gateway` child process: per call
 *     `POST /v1/calls` then `POST /v1/calls/{id}/outcome`, each round trip also timed on its own.
 * One caller, calls one after another, a SQLite store with full durability (each record fsync'd).
 *
 *   npm run bench:remote      (REINS_BENCH_CALLS, default 1000 per variant)
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runGoverned } from '../src/adapters/governor.js';
import { LocalGovernor } from '../src/adapters/local-governor.js';
import { RemoteGovernor } from '../src/adapters/remote-governor.js';
import { openInProcessReins } from '../src/cli/in-process.js';
import { format, machine, type Summary, summarise } from './measure.js';

const ROOT = resolve(import.meta.dirname, '../..');
const REINS = join(ROOT, 'bin/reins.js');
const CALLS = Number(process.env.REINS_BENCH_CALLS ?? 1_000);
const WARMUP = 100;

const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: remote-bench }
tools:
  - { server: app, name: echo, risk: low, effects: [read] }
rules:
  - { id: echo, effect: allow, tool: { server: app, name: echo }, reason: echo is fine }
`;

const echo = async (args: Record<string, unknown>) => ({ echoed: args.text });

function cli(directory: string, ...args: string[]): string {
  const run = spawnSync(process.execPath, [REINS, ...args, '--config', join(directory, 'reins.yaml')], {
    cwd: directory,
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`reins ${args.join(' ')}: ${run.stderr}`);
  return run.stdout.trim();
}

async function timeCalls(run: (index: number) => Promise<void>): Promise<Summary> {
  for (let index = 0; index < WARMUP; index++) await run(index);
  const samples = new Float64Array(CALLS);
  for (let index = 0; index < CALLS; index++) {
    const started = process.hrtime.bigint();
    await run(index);
    samples[index] = Number(process.hrtime.bigint() - started) / 1_000;
  }
  return summarise(samples);
}

function deployment(name: string): string {
  const directory = mkdtempSync(join(tmpdir(), `reins-bench-${name}-`));
  writeFileSync(join(directory, 'policy.yaml'), POLICY);
  writeFileSync(
    join(directory, 'reins.yaml'),
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: reins.db }
listen: { host: 127.0.0.1, port: 0 }
`,
  );
  cli(directory, 'keys', 'generate');
  cli(directory, 'agents', 'create', 'bench-agent', '--owner', 'olivia', '--scopes', 'app/*');
  return directory;
}

async function startGateway(directory: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [REINS, 'gateway', '--config', join(directory, 'reins.yaml')], {
    cwd: directory,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = await new Promise<string>((resolveUrl, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      const match = /listening on (\S+)/.exec(chunk.toString());
      if (match) resolveUrl((match[1] as string).replace(/\/mcp$/, ''));
    });
    child.on('exit', (code) => reject(new Error(`gateway exited ${code}`)));
  });
  return { child, url };
}

async function main(): Promise<void> {
  console.log(`# remote protocol overhead per tool call (${CALLS} calls each, one caller)\n`);
  console.log(machine());
  const rows: [string, Summary][] = [];
  const unwrapped = await timeCalls(async (index) => {
    await echo({ text: `hello ${index}` });
  });
  rows.push(['unwrapped tool', unwrapped]);

  const local = deployment('local');
  const token = cli(local, 'agents', 'token', 'bench-agent', '--session', 'bench-local');
  const reins = await openInProcessReins({ config: join(local, 'reins.yaml'), log: () => {} });
  const auth = await reins.authenticator.authenticate(`Bearer ${token}`);
  if (!auth.ok) throw new Error(auth.message);
  rows.push([
    'harness.call (in-process pipeline, peer)',
    await timeCalls(async (index) => {
      const result = await reins.harness.call(
        {
          principal: auth.principal,
          sessionId: auth.sessionId,
          tool: { server: 'app', name: 'echo' },
          args: { text: `hello ${index}` },
        },
        echo,
      );
      if (result.status !== 'ok') throw new Error(JSON.stringify(result));
    }),
  ]);
  const localGovernor = new LocalGovernor({
    harness: reins.harness,
    authenticator: reins.authenticator,
    token,
  });
  rows.push([
    'LocalGovernor (adapters, in-process mode)',
    await timeCalls(async (index) => {
      const state = await runGoverned(
        localGovernor,
        { tool: 'app/echo', args: { text: `hello ${index}` } },
        echo,
      );
      if (state.status !== 'completed') throw new Error(JSON.stringify(state));
    }),
  ]);
  await reins.close();

  const remote = deployment('remote');
  const remoteToken = cli(remote, 'agents', 'token', 'bench-agent', '--session', 'bench-remote');
  const gateway = await startGateway(remote);
  const governor = new RemoteGovernor({ url: gateway.url, token: remoteToken });
  const opens = new Float64Array(CALLS + WARMUP);
  const outcomes = new Float64Array(CALLS + WARMUP);
  rows.push([
    'RemoteGovernor (HTTP to a gateway process)',
    await timeCalls(async (index) => {
      const started = process.hrtime.bigint();
      const opened = await governor.open({ tool: 'app/echo', args: { text: `hello ${index}` } });
      const middle = process.hrtime.bigint();
      const done = await governor.complete(opened.id, { ok: true, result: await echo(opened.args ?? {}) });
      opens[index % opens.length] = Number(middle - started) / 1_000;
      outcomes[index % outcomes.length] = Number(process.hrtime.bigint() - middle) / 1_000;
      if (done.status !== 'completed') throw new Error(JSON.stringify(done));
    }),
  ]);
  rows.push(['  of which POST /v1/calls (decide + intent)', summarise(opens)]);
  rows.push(['  of which POST /v1/calls/{id}/outcome', summarise(outcomes)]);
  gateway.child.kill('SIGTERM');

  console.log('\n| variant | median µs | p99 µs | median × unwrapped | median − unwrapped µs |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const [name, summary] of rows) {
    console.log(
      `| ${name} | ${format(summary.medianUs, 1)} | ${format(summary.p99Us, 1)} | ${format(summary.medianUs / unwrapped.medianUs, 0)} | ${format(summary.medianUs - unwrapped.medianUs, 0)} |`,
    );
  }
  for (const directory of [local, remote]) rmSync(directory, { recursive: true, force: true });
}

await main();
