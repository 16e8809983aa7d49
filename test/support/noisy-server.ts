/**
 * @module test/support/noisy-server
 * An MCP server over stdio that talks on its standard error, for the upstream stderr tests. At start
 * it writes a line quoting an AWS key; `say` writes a given line, `shout` writes 1.5 MB (1 KiB lines
 * and one 200 KB line) before it answers, `pid` answers its process id (so a test can kill it),
 * `wait` never answers (it first creates the file it is given, so a test knows the call arrived). With
 * `--fail <n>` it writes n numbered lines and a connection string with its password, then exits 1
 * without serving: an upstream that fails to start. With `--pid-file <path>`
 * it appends its process id to the file, and if the file already held one (it is being restarted) it
 * never starts serving: a restart still in progress. With `--exit-after <ms>` it exits that long after
 * a client has initialized it: an upstream that starts and dies, again and again. `pem` writes a freshly
 * generated RSA private key to the given file and to stderr in four pieces 30 ms apart (four reads of
 * the pipe), then answers; `--pem-file <path>` with `--fail` does the same before the connection string.
 * Usage: node --import tsx test/support/noisy-server.ts [--fail <n> [--pem-file <path>] | --pid-file <path> | --exit-after <ms>]
 */
import { generateKeyPairSync } from 'node:crypto';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';
import { LEAKS } from './leaky-secrets.js';

/** Writes a new private key to `file`, and to stderr in four pieces: BEGIN with the first lines, …, END. */
async function writeKeyInPieces(file: string): Promise<void> {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  writeFileSync(file, privateKey);
  const lines = privateKey.trimEnd().split('\n');
  const size = Math.ceil(lines.length / 4);
  for (let piece = 0; piece < 4; piece++) {
    if (piece > 0) await new Promise((wait) => setTimeout(wait, 30));
    process.stderr.write(`${lines.slice(piece * size, (piece + 1) * size).join('\n')}\n`);
  }
}

const failAt = process.argv.indexOf('--fail');
if (failAt !== -1) {
  const count = Number(process.argv[failAt + 1]);
  for (let line = 1; line <= count; line++) process.stderr.write(`startup line ${line}\n`);
  const pemFileAt = process.argv.indexOf('--pem-file');
  if (pemFileAt !== -1) await writeKeyInPieces(process.argv[pemFileAt + 1] as string);
  process.stderr.write(`fatal: cannot reach ${LEAKS.connection}\n`);
  process.exit(1);
}

const pidFileAt = process.argv.indexOf('--pid-file');
if (pidFileAt !== -1) {
  const pidFile = process.argv[pidFileAt + 1] as string;
  const restarted = existsSync(pidFile);
  appendFileSync(pidFile, `${process.pid}\n`);
  // a timer keeps the process alive: it neither serves nor exits by itself
  if (restarted) await new Promise(() => setInterval(() => {}, 60_000));
}

process.stderr.write(`noisy: started, using key ${LEAKS.awsKey}\n`);
const server = new McpServer({ name: 'noisy', version: '1.0.0' });
const exitAfter = process.argv.indexOf('--exit-after');
if (exitAfter !== -1) {
  const ms = Number(process.argv[exitAfter + 1]);
  server.server.oninitialized = () => setTimeout(() => process.exit(4), ms);
}
server.registerTool(
  'say',
  { description: 'Writes the text to stderr', inputSchema: { text: z.string() } },
  async ({ text }) => {
    process.stderr.write(`${text}\n`);
    return { content: [{ type: 'text', text: 'said' }] };
  },
);
server.registerTool('shout', { description: 'Writes 1.5 MB to stderr, then answers' }, async () => {
  const line = `${'x'.repeat(1023)}\n`;
  for (let count = 0; count < 1300; count++) process.stderr.write(line);
  process.stderr.write(`${'y'.repeat(200_000)}\n`);
  return { content: [{ type: 'text', text: 'shouted' }] };
});
server.registerTool(
  'pem',
  {
    description: 'Writes a new private key to the file and, in pieces, to stderr',
    inputSchema: { file: z.string() },
  },
  async ({ file }) => {
    await writeKeyInPieces(file);
    return { content: [{ type: 'text', text: 'written' }] };
  },
);
server.registerTool('pid', { description: 'Answers its process id' }, async () => ({
  content: [{ type: 'text', text: String(process.pid) }],
}));
server.registerTool(
  'wait',
  {
    description: 'Creates the file, if given, then never answers',
    inputSchema: { file: z.string().optional() },
  },
  ({ file }) => {
    if (file !== undefined) writeFileSync(file, 'waiting\n');
    return new Promise(() => {});
  },
);
await server.connect(new StdioServerTransport());
