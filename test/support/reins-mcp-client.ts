/**
 * @module test/support/reins-mcp-client
 * Connects an official SDK client to a real `reins mcp` process (the built CLI) fronting one stdio
 * upstream, on an embedded SQLite store: what the gateway end-to-end tests share.
 */
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const ROOT = resolve(import.meta.dirname, '../..');

export interface ReinsMcpOptions {
  readonly agent: string;
  readonly policy: string;
  /** SQLite store (the signing key goes next to it). */
  readonly db: string;
  /** Tool definition pins: keep them in the test's temp directory. */
  readonly lock: string;
  /** The upstream's name in policies. */
  readonly name: string;
  /** The upstream command: a script run with this Node, and its arguments. */
  readonly upstream: readonly string[];
  readonly clientName: string;
  /** Extra environment for reins (the upstream gets only what reins passes on). */
  readonly env?: Record<string, string>;
  /** Told every chunk `reins mcp` writes to standard error (its log). */
  readonly onStderr?: (chunk: string) => void;
  /** More `reins mcp` options, e.g. `['--approval-timeout', '15000']`. */
  readonly reinsArgs?: readonly string[];
}

export async function connectThroughReins(options: ReinsMcpOptions): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [
      join(ROOT, 'bin/reins.js'),
      'mcp',
      '--agent',
      options.agent,
      '--policy',
      options.policy,
      '--db',
      options.db,
      '--lock',
      options.lock,
      '--name',
      options.name,
      ...(options.reinsArgs ?? []),
      '--',
      process.execPath,
      ...options.upstream,
    ],
    // never a shared database from the developer's environment
    env: { ...(process.env as Record<string, string>), REINS_DATABASE_URL: '', ...options.env },
    stderr: 'pipe',
  });
  const client = new Client({ name: options.clientName, version: '1.0.0' });
  const { onStderr } = options;
  if (onStderr) transport.stderr?.on('data', (chunk: Buffer) => onStderr(chunk.toString()));
  await client.connect(transport);
  return client;
}
