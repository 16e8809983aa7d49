/**
 * @module test/support/desktop-client
 * A desktop-style MCP client in its own process, so a test can close it or kill it with SIGKILL the way
 * a user quits (or a crash ends) a desktop app:
 *   node --import tsx desktop-client.ts '<json ClientPlan>'
 * Starts the server command with the official SDK's stdio transport (as desktop apps do), makes one
 * call and prints `{"event":"ready","pid":…,"text":…}`; with `held`, it then starts a call that waits
 * for approval and does not wait for it. On the line `close` it closes the client as an app does
 * (the SDK ends the server's stdin, then escalates to signals) and prints `{"event":"closed"}`. On the
 * line `leak`, it lets another process hold the server's stdin open, as when the pipe leaked into a
 * helper of the app, and prints `{"event":"leaked","pid":…}` (the test ends that process).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

export interface ClientPlan {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  /** The server's environment (the SDK adds PATH, HOME and the like). */
  readonly env: Record<string, string>;
  readonly call: { readonly name: string; readonly arguments: Record<string, unknown> };
  readonly held?: { readonly name: string; readonly arguments: Record<string, unknown> };
}

const plan = JSON.parse(process.argv[2] ?? '') as ClientPlan;
const say = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`);

// the server's log goes where this client's goes (the test reads it), as a desktop app keeps a log file
const transport = new StdioClientTransport({
  command: plan.command,
  args: [...plan.args],
  cwd: plan.cwd,
  env: plan.env,
  stderr: 'inherit',
});
const client = new Client({ name: 'desktop-client', version: '1.0.0' });
await client.connect(transport);
const result = await client.callTool({ name: plan.call.name, arguments: plan.call.arguments });
const text = JSON.stringify(result.content);
if (plan.held !== undefined) {
  // nobody approves it: the call is still waiting when the client goes
  void client
    .callTool({ name: plan.held.name, arguments: plan.held.arguments }, undefined, { timeout: 600_000 })
    .catch(() => {});
}
say({ event: 'ready', pid: transport.pid, text });

const close = async () => {
  await client.close();
  say({ event: 'closed' });
  process.exit(0);
};
/** Starts a process that holds the server's stdin open: no end of input comes when this client dies. */
const leak = () => {
  // the SDK does not expose the child's stdin (a socket, not a pipe /proc could reopen): reach for it
  const server = (transport as unknown as { _process?: ChildProcess })._process;
  if (server?.stdin == null)
    throw new Error('the SDK transport no longer keeps `_process`: update this helper');
  const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', server.stdin],
  });
  holder.unref();
  say({ event: 'leaked', pid: holder.pid });
};
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() === 'close') void close();
  if (line.trim() === 'leak') leak();
});
// the test going away closes this client too
lines.on('close', () => void close());
