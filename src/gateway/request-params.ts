/**
 * @module gateway/request-params
 * Readable refusals of malformed MCP request parameters. Handed the SDK's own schema, the SDK rejects a
 * bad `tools/call` with -32603 (internal error) and a dump of the schema issues; a client deserves
 * -32602 (invalid params) and one line saying what is wrong. So a handler is registered with a schema
 * that only fixes the method, and checks the parameters itself against the SDK's schema.
 */
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { Protocol } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  type CallToolRequest,
  CallToolRequestSchema,
  type CallToolResult,
  CallToolResultSchema,
  ErrorCode,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

type RequestExtra = Parameters<Parameters<Server['setRequestHandler']>[1]>[1];

/**
 * Registers the `tools/call` handler. The SDK's `Server` wraps every `tools/call` handler in its own
 * check of the request, whose refusal is a JSON dump of schema issues; registered on the protocol
 * underneath, the request is checked here instead (readable), and the result as the SDK would
 * (Reins never offers task-augmented calls, so a call result is the only valid one).
 */
export function setToolCallHandler(
  server: Server,
  handler: (request: CallToolRequest, extra: RequestExtra) => Promise<CallToolResult>,
): void {
  Protocol.prototype.setRequestHandler.call(server, anyRequestOf('tools/call'), async (raw, extra) => {
    const request = parseRequest(CallToolRequestSchema, raw, 'tools/call');
    const result = CallToolResultSchema.safeParse(await handler(request, extra as RequestExtra));
    if (!result.success)
      throw new McpError(ErrorCode.InternalError, 'the tool result is not a valid MCP result');
    return result.data;
  });
}

/** Matches any request of `method`; the handler checks the parameters with `parseRequest`. */
export function anyRequestOf<M extends string>(method: M) {
  return z.object({ method: z.literal(method), params: z.unknown().optional() });
}

/** The request as `schema` reads it, or -32602 with the problems in plain words. */
export function parseRequest<S extends z.ZodType>(schema: S, request: unknown, method: string): z.output<S> {
  const parsed = schema.safeParse(request);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const path = issue.path.filter((part) => part !== 'params').join('.');
    return `${path === '' ? 'parameters' : `\`${path}\``}: ${plainMessage(issue.message)}`;
  });
  throw new McpError(ErrorCode.InvalidParams, `invalid ${method} request: ${problems.join('; ')}`);
}

/** One line, without the brackets of a serialised schema (zod may quote expected values in them). */
function plainMessage(message: string): string {
  return message
    .replace(/\s+/g, ' ')
    .replace(/[{}[\]]/g, '')
    .trim();
}
