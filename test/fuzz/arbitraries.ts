/**
 * @module test/fuzz/arbitraries
 * Input generators shared by the fuzz properties: tool names with the tricks an attacker tries, tool
 * arguments of any shape, and the checks every refusal must pass (a clear, non-leaking message).
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { COUNTING_TOOLS } from '../support/counting-tools.js';

const SEPARATORS = ['__', '_', '/', '.', ':', '\\', '\u0000', ' ', '%2F', '\u2215', '\uFF0F'];

/** A name an attacker might send: real names bent (case, unicode, separators, `..`), junk, very long. */
export function trickyName(servers: readonly string[]): fc.Arbitrary<string> {
  const known = fc.constantFrom(...COUNTING_TOOLS);
  const server = fc.constantFrom(...servers, ...servers.map((name) => name.toUpperCase()), '', '..', '*');
  const bend = (name: string): fc.Arbitrary<string> =>
    fc.oneof(
      fc.constant(name),
      fc.constant(name.toUpperCase()),
      fc.constant(name.normalize('NFD')),
      fc.constant(`${name}\u200B`),
      fc.constant(` ${name}`),
      fc.constant(`${name}\u0000`),
      fc.constant(name.replace(/e/g, '\u0435')), // Cyrillic e
      fc.constant(`../${name}`),
      fc.constant(name.repeat(50)),
    );
  return fc.oneof(
    fc
      .tuple(server, fc.constantFrom(...SEPARATORS), known)
      .chain(([prefix, separator, tool]) => bend(`${prefix}${separator}${tool}`)),
    fc.tuple(server, known).map(([prefix, tool]) => `${prefix}__${tool}`),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ maxLength: 5_000, minLength: 1_000 }),
  );
}

/** Any JSON value, occasionally deep or wide. */
export const jsonValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 1, arbitrary: deep(fc.nat({ max: 400 })) },
  { weight: 1, arbitrary: fc.string({ minLength: 10_000, maxLength: 30_000 }) },
  { weight: 1, arbitrary: fc.array(fc.integer(), { minLength: 1_000, maxLength: 3_000 }) },
);

/** Tool arguments: an object with odd keys and values (what `arguments` is meant to be). */
export const toolArguments: fc.Arbitrary<Record<string, unknown>> = fc.dictionary(
  fc.oneof(
    fc.constantFrom('path', 'sql', 'amount', '__proto__', 'constructor', 'toString', '', '\u0000'),
    fc.string({ maxLength: 20 }),
  ),
  jsonValue,
  { maxKeys: 6 },
);

function deep(depth: fc.Arbitrary<number>): fc.Arbitrary<unknown> {
  return fc.tuple(depth, fc.boolean()).map(([levels, arrays]) => {
    let value: unknown = 'bottom';
    for (let level = 0; level < levels; level++) value = arrays ? [value] : { nested: value };
    return value;
  });
}

/** Characters that show a stack trace or an internal path leaked into a message an agent reads. */
const LEAKS = [
  /\n\s+at .+\(?.+:\d+:\d+\)?/, // a stack frame
  /node_modules/,
  /\/work\/|\/home\/|\/tmp\//,
  /\.(ts|js|mjs|cjs):\d+/,
  /\b(TypeError|ReferenceError|RangeError|SyntaxError)\b/,
];

/**
 * A refusal an agent can act on: non-empty, readable, and without internals. `echoes` are the caller's
 * own inputs, which a message may quote (they are not a leak whatever they contain).
 */
export function expectClearMessage(message: unknown, context: string, echoes: readonly string[] = []): void {
  expect(typeof message, `${context}: message type`).toBe('string');
  let text = message as string;
  expect(text.trim().length, `${context}: empty message`).toBeGreaterThan(0);
  for (const echo of echoes) if (echo.length > 0) text = text.split(echo).join('');
  for (const leak of LEAKS) expect(text, `${context}: leaks internals`).not.toMatch(leak);
}

/**
 * A JSON-RPC error object as the spec wants it: an integer code, either outside the reserved range or
 * one of its defined codes (-32700, -32600..-32603) or the implementation-defined server range
 * (-32099..-32000); and a clear message.
 */
export function expectValidJsonRpcError(
  error: unknown,
  context: string,
  echoes: readonly string[] = [],
): void {
  expect(error, `${context}: error object`).toBeTypeOf('object');
  const { code, message } = error as { code: unknown; message: unknown };
  expect(Number.isInteger(code), `${context}: integer code, got ${String(code)}`).toBe(true);
  const value = code as number;
  const reserved = value >= -32768 && value <= -32000;
  const defined = [-32700, -32600, -32601, -32602, -32603].includes(value) || value >= -32099;
  expect(!reserved || defined, `${context}: code ${value} is reserved and undefined`).toBe(true);
  expectClearMessage(message, context, echoes);
}

const METHODS = [
  'initialize',
  'ping',
  'tools/list',
  'tools/call',
  'resources/list',
  'resources/read',
  'resources/templates/list',
  'resources/subscribe',
  'prompts/list',
  'prompts/get',
  'completion/complete',
  'logging/setLevel',
  'sampling/createMessage',
  'notifications/initialized',
  'notifications/cancelled',
  'notifications/progress',
  'notifications/roots/list_changed',
];

/** A `tools/call` aimed at the gateway: tricky names, odd arguments, sometimes odd `_meta`. */
export function toolCallMessage(servers: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  return fc.record({
    jsonrpc: fc.constant('2.0'),
    id: fc.oneof(fc.integer(), fc.string({ maxLength: 10 })),
    method: fc.constant('tools/call'),
    params: fc.record(
      {
        name: fc.oneof({ weight: 9, arbitrary: trickyName(servers) }, { weight: 1, arbitrary: jsonValue }),
        arguments: fc.oneof({ weight: 9, arbitrary: toolArguments }, { weight: 1, arbitrary: jsonValue }),
        _meta: fc.record(
          { progressToken: fc.oneof(fc.string(), fc.integer(), jsonValue) },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: ['name'] },
    ),
  });
}

/** Anything a client might send as one JSON-RPC message (or batch), well-formed or not. */
export function jsonRpcMessage(servers: readonly string[]): fc.Arbitrary<unknown> {
  const id = fc.oneof(fc.integer(), fc.string({ maxLength: 10 }), fc.constant(null), jsonValue);
  const request = fc.record(
    {
      jsonrpc: fc.oneof({ weight: 8, arbitrary: fc.constant('2.0') }, { weight: 1, arbitrary: jsonValue }),
      id,
      method: fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...METHODS) },
        { weight: 1, arbitrary: fc.string() },
      ),
      params: fc.oneof(
        jsonValue,
        fc.record(
          { name: trickyName(servers), uri: fc.string(), arguments: toolArguments },
          { requiredKeys: [] },
        ),
        fc.record(
          { requestId: id, reason: fc.string(), progressToken: id, progress: fc.double() },
          { requiredKeys: [] },
        ),
      ),
    },
    { requiredKeys: ['method'] },
  );
  const response = fc.record(
    {
      jsonrpc: fc.constant('2.0'),
      id,
      result: jsonValue,
      error: fc.record({ code: fc.integer(), message: fc.string() }),
    },
    { requiredKeys: ['id'] },
  );
  return fc.oneof(
    { weight: 4, arbitrary: request },
    { weight: 4, arbitrary: toolCallMessage(servers) },
    { weight: 1, arbitrary: response },
    { weight: 1, arbitrary: fc.array(fc.oneof(request, toolCallMessage(servers)), { maxLength: 4 }) },
    { weight: 1, arbitrary: jsonValue },
  );
}

/** Bytes on the wire: a message as JSON, or broken JSON, invalid UTF-8, or nothing at all. */
export function wireBytes(servers: readonly string[]): fc.Arbitrary<Buffer> {
  const json = jsonRpcMessage(servers).map((message) => JSON.stringify(message) ?? 'null');
  return fc.oneof(
    { weight: 6, arbitrary: json.map((text) => Buffer.from(text)) },
    // the message cut short, or with a byte flipped
    {
      weight: 1,
      arbitrary: fc
        .tuple(json, fc.nat())
        .map(([text, at]) => Buffer.from(text.slice(0, at % (text.length + 1)))),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(json, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([text, at, byte]) => {
        const bytes = Buffer.from(text);
        if (bytes.length > 0) bytes[at % bytes.length] = byte;
        return bytes;
      }),
    },
    // invalid UTF-8 inside a string, and raw binary
    {
      weight: 1,
      arbitrary: fc
        .uint8Array({ maxLength: 200 })
        .map((bytes) =>
          Buffer.concat([
            Buffer.from('{"jsonrpc":"2.0","id":1,"method":"'),
            Buffer.from(bytes),
            Buffer.from('"}'),
          ]),
        ),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('', ' ', '{}', '[]', 'null', '"', '{"jsonrpc":"2.0"', '\uFEFF{}')
        .map((text) => Buffer.from(text)),
    },
  );
}

/** Every string inside a value: what a refusal may legitimately quote back. */
export function stringsIn(value: unknown, into: string[] = []): string[] {
  if (typeof value === 'string') into.push(value);
  else if (Array.isArray(value)) for (const item of value) stringsIn(item, into);
  else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      into.push(key);
      stringsIn(item, into);
    }
  }
  return into;
}
