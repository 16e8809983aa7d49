/**
 * @module gateway/declared-request.test
 * Reading the user's request from an MCP request's `_meta`: both keys, what is refused (with the key
 * named and invalid params), and that unrelated `_meta` is left alone.
 */
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { SESSION_REQUEST_META, USER_REQUEST_META } from '../spec/provenance.js';
import { MAX_USER_INPUT_LENGTH } from '../spec/remote-call.js';
import { declaredRequestsOf } from './declared-request.js';

function refusalOf(meta: Record<string, unknown>): McpError {
  try {
    declaredRequestsOf(meta);
  } catch (error) {
    if (error instanceof McpError) return error;
    throw error;
  }
  throw new Error('not refused');
}

describe('declaredRequestsOf', () => {
  it('reads the request for the call and for the session', () => {
    expect(declaredRequestsOf(undefined)).toEqual({});
    expect(declaredRequestsOf({ progressToken: 3, traceparent: 'x' })).toEqual({});
    expect(declaredRequestsOf({ [USER_REQUEST_META]: 'mail Bob' })).toEqual({ call: 'mail Bob' });
    expect(declaredRequestsOf({ [SESSION_REQUEST_META]: 'plan my trip' })).toEqual({
      session: 'plan my trip',
    });
    expect(
      declaredRequestsOf({ [USER_REQUEST_META]: 'a', [SESSION_REQUEST_META]: 'b', progressToken: 'p' }),
    ).toEqual({ call: 'a', session: 'b' });
    const longest = 'x'.repeat(MAX_USER_INPUT_LENGTH);
    expect(declaredRequestsOf({ [USER_REQUEST_META]: longest })).toEqual({ call: longest });
  });

  it.each([
    [42, 'must be a string, not a number'],
    [null, 'must be a string, not null'],
    [true, 'must be a string, not a boolean'],
    [['mail Bob'], 'must be a string, not an array'],
    [{ text: 'mail Bob' }, 'must be a string, not an object'],
    ['', 'is empty'],
    [' \n\t', 'is empty'],
    ['x'.repeat(MAX_USER_INPUT_LENGTH + 1), `is longer than ${MAX_USER_INPUT_LENGTH} characters`],
  ])('refuses %j, naming the key', (value, problem) => {
    for (const key of [USER_REQUEST_META, SESSION_REQUEST_META]) {
      const refusal = refusalOf({ [key]: value });
      expect(refusal.code).toBe(ErrorCode.InvalidParams);
      expect(refusal.message).toContain(`invalid \`_meta["${key}"]\`: the user's request ${problem}`);
      expect(refusal.message).toContain('the call was not run');
    }
  });

  it('refuses a well-formed request beside a malformed one', () => {
    expect(refusalOf({ [USER_REQUEST_META]: 'mail Bob', [SESSION_REQUEST_META]: 1 }).message).toContain(
      SESSION_REQUEST_META,
    );
  });
});
