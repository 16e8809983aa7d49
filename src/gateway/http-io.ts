/**
 * @module gateway/http-io
 * Reading and answering the gateway listener's plain HTTP requests (MCP, the remote protocol, token
 * exchange): bodies read within a byte limit before they are parsed, JSON content types, JSON answers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export async function readBody(
  request: IncomingMessage,
  limit: number,
): Promise<{ kind: 'ok'; text: string } | { kind: 'too_large' }> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > limit) {
    request.resume(); // drain without keeping it
    return { kind: 'too_large' };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) return { kind: 'too_large' };
    chunks.push(chunk as Buffer);
  }
  return { kind: 'ok', text: Buffer.concat(chunks).toString('utf8') };
}

/** `application/json`, with or without parameters (`; charset=utf-8`). */
export function isJsonContent(header: string | undefined): boolean {
  return header !== undefined && header.split(';')[0]?.trim().toLowerCase() === 'application/json';
}

export function send(response: ServerResponse, status: number, body: unknown): void {
  response.statusCode = status;
  response.setHeader('content-type', 'application/json');
  response.end(JSON.stringify(body));
}
