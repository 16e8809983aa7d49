/**
 * @module spec/storable-text.test
 * Text every store keeps as given, and the tool call's session id held to it: a session whose id the
 * store would change could not find its own records again (its state would go stale: fail open).
 */
import { describe, expect, it } from 'vitest';
import { isStorableText, storableText } from './storable-text.js';
import { ToolCallSchema } from './tool-call.js';

describe('storableText', () => {
  it('replaces lone surrogates and NUL, and keeps pairs', () => {
    expect(storableText('a\u0000b\ud800c\udfffd😀')).toBe('a\ufffdb\ufffdc\ufffdd😀');
    expect(storableText('plain')).toBe('plain');
    expect(isStorableText('😀')).toBe(true);
    expect(isStorableText('😀'.slice(0, 1))).toBe(false);
  });

  it('refuses a tool call whose session id a store would change', () => {
    const call = (sessionId: string) =>
      ToolCallSchema.safeParse({ principal: { agentId: 'a' }, sessionId, tool: { server: 's', name: 't' } });
    expect(call('session-😀').success).toBe(true);
    expect(call('session-\ud800').success).toBe(false);
    expect(call('session-\u0000').success).toBe(false);
  });
});
