/**
 * @module test/support/eventually.test
 * The waiting helper every test uses: it returns as soon as the check holds, and when it never does,
 * fails with what was awaited and the last error rather than a bare timeout.
 */
import { describe, expect, it } from 'vitest';
import { eventually, present, StopWaiting } from './eventually.js';

describe('eventually', () => {
  it('returns what the check returned once it stops throwing', async () => {
    let tries = 0;
    const value = await eventually(
      () => {
        tries++;
        expect(tries).toBeGreaterThan(2);
        return `after ${tries}`;
      },
      { intervalMs: 1 },
    );
    expect(value).toBe('after 3');
  });

  it('treats false as not yet, and any other value (undefined too) as holding', async () => {
    let tries = 0;
    expect(await eventually(() => ++tries === 3, { intervalMs: 1 })).toBe(true);
    expect(tries).toBe(3);
    expect(await eventually(() => undefined)).toBeUndefined();
  });

  it('fails at the deadline with what was awaited and the last error', async () => {
    let tries = 0;
    const waiting = eventually(
      () => {
        tries++;
        throw new Error(`still ${tries}`);
      },
      { timeoutMs: 40, intervalMs: 5, what: 'the thing' },
    );
    await expect(waiting).rejects.toThrow(/^the thing did not hold within 40 ms \(\d+ tries\)/);
    await expect(waiting).rejects.toThrow(`the last try failed with: still ${tries}`);
  });

  it('says when the last try returned false', async () => {
    await expect(eventually(() => false, { timeoutMs: 20, intervalMs: 5 })).rejects.toThrow(
      /^the check did not hold within 20 ms .*the last try returned false$/,
    );
  });

  it('stops at once on StopWaiting', async () => {
    let tries = 0;
    await expect(
      eventually(() => {
        tries++;
        throw new StopWaiting('the process exited');
      }),
    ).rejects.toThrow('the process exited');
    expect(tries).toBe(1);
  });
});

describe('present', () => {
  it('passes a value through and throws the message for undefined or null', () => {
    expect(present(0, 'missing')).toBe(0);
    expect(() => present(undefined, 'missing')).toThrow('missing');
    expect(() => present(null, () => 'computed')).toThrow('computed');
  });
});
