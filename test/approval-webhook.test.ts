/**
 * @module test/approval-webhook.test
 * The approval webhook: a new request is POSTed as JSON to a real local HTTP server, without the
 * call's arguments; a failing or unreachable endpoint is logged and never affects the held call.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { webhookNotifier } from '../src/cli/oversight-wiring.js';
import { approvalRecord } from './conformance/oversight-store.conformance.js';
import { eventually } from './support/eventually.js';

let server: Server | undefined;

afterEach(async () => {
  await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
  server = undefined;
});

async function listen(
  status: number,
  received: { body: unknown; type: string | undefined }[],
): Promise<string> {
  const listening = createServer((request: IncomingMessage, response) => {
    let text = '';
    request.on('data', (chunk) => {
      text += chunk;
    });
    request.on('end', () => {
      received.push({ body: JSON.parse(text), type: request.headers['content-type'] });
      response.writeHead(status).end();
    });
  });
  server = listening;
  await new Promise<void>((done) => listening.listen(0, '127.0.0.1', () => done()));
  return `http://127.0.0.1:${(listening.address() as AddressInfo).port}/hook`;
}

describe('approval webhook', () => {
  it('posts what was held and who may approve, never the arguments', async () => {
    const received: { body: unknown; type: string | undefined }[] = [];
    const url = await listen(204, received);
    const logged: string[] = [];
    webhookNotifier(url, (line) => logged.push(line))(approvalRecord('req-1'));
    await eventually(() => expect(received).toHaveLength(1));
    expect(received[0]?.type).toBe('application/json');
    expect(received[0]?.body).toEqual({
      type: 'approval.requested',
      approval: {
        id: 'req-1',
        agentId: 'payments-bot',
        sessionId: 'session-1',
        tool: 'bank/transfer',
        reasons: ['large transfers need two finance approvers'],
        requirements: approvalRecord('req-1').requirements,
        expiresAt: approvalRecord('req-1').expiresAt,
      },
    });
    expect(JSON.stringify(received[0]?.body)).not.toContain('DE00');
    expect(logged).toEqual([]);
  });

  it('logs a refusing or unreachable endpoint', async () => {
    const received: { body: unknown; type: string | undefined }[] = [];
    const url = await listen(500, received);
    const logged: string[] = [];
    webhookNotifier(url, (line) => logged.push(line))(approvalRecord('req-2'));
    await eventually(() => expect(logged).toHaveLength(1));
    expect(logged[0]).toContain('500');
    webhookNotifier('http://127.0.0.1:1/hook', (line) => logged.push(line))(approvalRecord('req-3'));
    await eventually(() => expect(logged).toHaveLength(2));
    expect(logged[1]).toMatch(/approval webhook failed/);
  });
});
