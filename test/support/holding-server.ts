/**
 * @module test/support/holding-server
 * An MCP upstream (official SDK, low-level server) whose tool `hold` does not answer until the test
 * lets it go, and that notes every call it receives and how many it was holding at the time: for the
 * tests of the per-session share of upstream calls, which count what reached the upstream and how much
 * of it at once without trusting the gateway. `quick` answers at once. Both answer with their arguments.
 *
 * In the test's own process it is served over Streamable HTTP (`startHoldingHttpUpstream`; the test
 * lets holds go with `Holds.release` / `Holds.open`). Run as a script it is a stdio server:
 *   node --import tsx test/support/holding-server.ts <directory>
 * appends each call it receives to `<directory>/received.jsonl` as `{ args, holding }` and lets every
 * hold go, then and later, once the file `<directory>/release` exists.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

/** One call the upstream received: its arguments, and how many holds it had under way with it. */
export interface Received {
  readonly args: Record<string, unknown>;
  readonly holding: number;
}

/** The calls of `hold` under way, and every call received. */
export class Holds {
  readonly received: Received[] = [];
  /** Holds under way now, and the most there ever were at once. */
  holding = 0;
  mostAtOnce = 0;
  private readonly waiting = new Set<() => void>();
  private opened = false;

  constructor(private readonly onReceived: (received: Received) => void = () => {}) {}

  /** Notes a call; for `hold`, waits until it is let go (or the gateway cancels it). */
  async receive(tool: string, args: Record<string, unknown>, signal: AbortSignal): Promise<void> {
    const holds = tool === 'hold' && !this.opened;
    if (holds) this.mostAtOnce = Math.max(this.mostAtOnce, ++this.holding);
    const received = { args, holding: this.holding };
    this.received.push(received);
    this.onReceived(received);
    if (!holds) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.waiting.delete(done);
        signal.removeEventListener('abort', done);
        this.holding--;
        resolve();
      };
      this.waiting.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Lets the `count` longest-waiting holds go. */
  release(count: number): void {
    for (const done of [...this.waiting].slice(0, count)) done();
  }

  /** Lets every hold go, now and from now on. */
  open(): void {
    this.opened = true;
    this.release(Number.POSITIVE_INFINITY);
  }

  /** What was received whose argument `who` is `who`. */
  from(who: string): Received[] {
    return this.received.filter((received) => received.args.who === who);
  }
}

/** A server (one per MCP session) whose calls go to `holds`. */
export function holdingServer(holds: Holds): Server {
  const server = new Server({ name: 'holding', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: ['hold', 'quick'].map((name) => ({ name, inputSchema: { type: 'object' as const } })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (call, extra) => {
    const args = call.params.arguments ?? {};
    await holds.receive(call.params.name, args, extra.signal);
    return { content: [{ type: 'text', text: `${call.params.name} ${JSON.stringify(args)}` }] };
  });
  return server;
}

export interface HoldingHttpUpstream {
  readonly url: string;
  readonly holds: Holds;
  close(): Promise<void>;
}

/** The holding upstream on a Streamable HTTP endpoint of its own (the SDK's server transport). */
export async function startHoldingHttpUpstream(): Promise<HoldingHttpUpstream> {
  const holds = new Holds();
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const http: HttpServer = createServer(async (request, response) => {
    let body: unknown;
    if (request.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    }
    const header = request.headers['mcp-session-id'];
    const session = typeof header === 'string' ? sessions.get(header) : undefined;
    if (session !== undefined) return void session.handleRequest(request, response, body);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, transport);
      },
    });
    void holdingServer(holds)
      .connect(transport)
      .then(() => transport.handleRequest(request, response, body));
  });
  await new Promise<void>((done) => http.listen(0, '127.0.0.1', () => done()));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    holds,
    close: async () => {
      holds.open();
      http.closeAllConnections();
      await new Promise((done) => http.close(done));
    },
  };
}

/** What the stdio server running with `directory` received so far. */
export function receivedBy(directory: string): Received[] {
  const file = join(directory, 'received.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Received);
}

/** Lets every hold of the stdio server running with `directory` go, now and from now on. */
export function releaseAll(directory: string): void {
  writeFileSync(join(directory, 'release'), '');
}

/** As a stdio server: what it receives goes to a file, and a file lets its holds go. */
async function serveStdio(directory: string): Promise<void> {
  const holds = new Holds((received) =>
    appendFileSync(join(directory, 'received.jsonl'), `${JSON.stringify(received)}\n`),
  );
  const watch = setInterval(() => {
    if (!existsSync(join(directory, 'release'))) return;
    holds.open();
    clearInterval(watch);
  }, 50);
  watch.unref();
  await holdingServer(holds).connect(new StdioServerTransport());
}

const directory = process.argv[2];
if (import.meta.filename === process.argv[1] && directory !== undefined) await serveStdio(directory);
