/**
 * @module gateway/http-client-transport.test
 * The event-stream reader of the upstream transport: events split anywhere between pieces, every line
 * break the format allows, comments, multi-line data, other event types, and the size bound.
 */
import { describe, expect, it } from 'vitest';
import { EventStreamParser } from './http-client-transport.js';

function parse(pieces: readonly string[], max = 1_000): { data: string[]; ok: boolean } {
  const data: string[] = [];
  const parser = new EventStreamParser(max, (text) => data.push(text));
  let ok = true;
  for (const piece of pieces) ok = parser.push(piece) && ok;
  return { data, ok };
}

describe('EventStreamParser', () => {
  it('hands on the data of each message event, however the stream is cut', () => {
    const stream = 'event: message\ndata: {"a":1}\n\n: keepalive\n\ndata: {"b":2}\n\n';
    for (let cut = 0; cut <= stream.length; cut++) {
      expect(parse([stream.slice(0, cut), stream.slice(cut)]).data).toEqual(['{"a":1}', '{"b":2}']);
    }
    expect(parse([...stream]).data).toEqual(['{"a":1}', '{"b":2}']);
  });

  it('reads CRLF and lone CR line breaks, a CRLF cut between its halves', () => {
    expect(parse(['data: one\r\n\r\ndata: two\r\rdata: three\n\n']).data).toEqual(['one', 'two', 'three']);
    expect(parse(['data: x\r', '\n\r', '\n']).data).toEqual(['x']);
  });

  it('joins multi-line data, takes `data:` without a space, skips other events and empty data', () => {
    expect(parse(['data: a\ndata:b\n\nevent: ping\ndata: p\n\ndata:\n\nid: 7\n\n']).data).toEqual(['a\nb']);
  });

  it('says when an event grows past the bound', () => {
    expect(parse(['data: 12345\n'], 8).ok).toBe(true);
    expect(parse(['data: 12345', '67890'], 8).ok).toBe(false);
    expect(parse(['data: 12345\n', 'data: 67890\n'], 8).ok).toBe(false);
    expect(parse(['data: 12345\n\n', 'data: 67890\n\n'], 8)).toEqual({ data: ['12345', '67890'], ok: true });
  });
});
