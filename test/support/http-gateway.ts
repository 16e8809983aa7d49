/**
 * @module test/support/http-gateway
 * Runs the real Streamable HTTP gateway (`reins gateway`, in this process) from a test's reins.yaml and
 * connects official SDK clients to it (or to any Reins endpoint) with Reins credentials, fixed or
 * swappable between requests (the attacks on MCP session binding need that).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { runHttpGateway } from '../../src/cli/gateway-command.js';

export interface RunningGateway {
  readonly endpoint: string;
  /** Log lines the gateway wrote to standard error. */
  readonly log: readonly string[];
  /** Stops it; resolves with its exit code. */
  stop(): Promise<number>;
}

/** Runs `reins gateway --config <config>` until `stop()`; resolves once it listens. */
export async function startHttpGateway(config: string): Promise<RunningGateway> {
  const log: string[] = [];
  const stop = new AbortController();
  let announce: (line: string) => void = () => {};
  const listening = new Promise<string>((resolve) => {
    announce = resolve;
  });
  const exit = runHttpGateway(
    { config },
    { out: (line) => announce(line), err: (line) => log.push(line) },
    stop.signal,
  );
  const line = await Promise.race([
    listening,
    exit.then((code) => {
      throw new Error(`gateway exited ${code}: ${log.join('\n')}`);
    }),
  ]);
  const endpoint = (/listening on (\S+)/.exec(line) as RegExpExecArray)[1] as string;
  return {
    endpoint,
    log,
    stop: () => {
      stop.abort();
      return exit;
    },
  };
}

/** An SDK client connected at `endpoint`, every request with `token` as its bearer credential. */
export async function connectHttp(endpoint: string, token: string): Promise<Client> {
  return (await connectHttpSession(endpoint, token)).client;
}

/** Like `connectHttp`, with the transport too: its MCP session id and protocol version. */
export async function connectHttpSession(
  endpoint: string,
  token: string,
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(endpoint), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'reins-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

/** Headers of a raw request on the session `transport` opened (for tests of the wire itself). */
export function sessionHeaders(
  token: string,
  transport: StreamableHTTPClientTransport,
): Record<string, string> {
  return {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    authorization: `Bearer ${token}`,
    'mcp-session-id': transport.sessionId as string,
    'mcp-protocol-version': transport.protocolVersion ?? '2025-06-18',
  };
}

/** An SDK client whose every request carries `credential.token` as it is at that moment. */
export interface CredentialClient {
  readonly client: Client;
  readonly transport: StreamableHTTPClientTransport;
  readonly credential: { token: string };
}

export async function connectWithCredential(endpoint: string, token: string): Promise<CredentialClient> {
  const credential = { token };
  const transport = new StreamableHTTPClientTransport(new URL(endpoint), {
    fetch: (url, init) => {
      const headers = new Headers(init?.headers);
      headers.set('authorization', `Bearer ${credential.token}`);
      return fetch(url, { ...init, headers });
    },
  });
  const client = new Client({ name: 'reins-security-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport, credential };
}

export { textOf } from './tool-result-text.js';

/**
 * A credential delegated by `token`'s holder to `audience` (itself or another agent), minted over the
 * gateway's token exchange (`POST /v1/token`) as an agent does it, without an operator.
 */
export async function exchangeToken(
  endpoint: string,
  token: string,
  audience: string,
  task: string,
): Promise<string> {
  const response = await fetch(new URL('/v1/token', endpoint), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: token,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      audience,
      task,
    }),
  });
  const answer = (await response.json()) as { access_token?: string };
  if (answer.access_token === undefined) throw new Error(`token exchange: HTTP ${response.status}`);
  return answer.access_token;
}
