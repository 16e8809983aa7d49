/**
 * @module test/support/http-gateway
 * Runs `reins gateway` in this process from a reins.yaml and connects official SDK clients to it with
 * a bearer credential: for end-to-end tests over Streamable HTTP that need no other upstream setup.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { runHttpGateway } from '../../src/cli/gateway-command.js';

export interface RunningGateway {
  readonly endpoint: string;
  /** What the gateway wrote to standard error. */
  readonly errors: string[];
  /** Stops it; resolves with its exit code. */
  stop(): Promise<number>;
}

export async function startHttpGateway(config: string): Promise<RunningGateway> {
  const errors: string[] = [];
  const stop = new AbortController();
  let announce: (line: string) => void = () => {};
  const listening = new Promise<string>((resolve) => {
    announce = resolve;
  });
  const exit = runHttpGateway(
    { config },
    { out: (line) => announce(line), err: (line) => errors.push(line) },
    stop.signal,
  );
  const line = await Promise.race([
    listening,
    exit.then((code) => {
      throw new Error(`gateway exited ${code}: ${errors.join('\n')}`);
    }),
  ]);
  const endpoint = (/listening on (\S+)/.exec(line) as RegExpExecArray)[1] as string;
  return {
    endpoint,
    errors,
    stop: () => {
      stop.abort();
      return exit;
    },
  };
}

export async function connectHttp(endpoint: string, token: string): Promise<Client> {
  const client = new Client({ name: 'security-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(endpoint), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

export const textOf = (result: unknown): string =>
  (result as CallToolResult).content.map((part) => (part.type === 'text' ? part.text : '')).join('');
