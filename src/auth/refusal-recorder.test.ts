// Unit tests of the refusal recorder: bounded records per window, every refusal counted.
import { describe, expect, it } from 'vitest';
import type { CredentialRejectedEvent } from '../spec/audit-event.js';
import type { AuditLog } from '../store/audit-log.js';
import { RefusalRecorder } from './refusal-recorder.js';

function refusal(claimedAgentId: string, id = claimedAgentId): CredentialRejectedEvent {
  return {
    v: 1,
    id,
    decisionId: id,
    time: '2026-01-01T00:00:00.000Z',
    kind: 'credential-rejected',
    claimedAgentId,
    claimedSessionId: '',
    code: 'bad_signature',
    message: 'signature does not verify',
  };
}

function recorder(maxRecords: number) {
  const written: CredentialRejectedEvent[] = [];
  const audit = {
    append: async (event: CredentialRejectedEvent) => void written.push(event),
  } as unknown as AuditLog;
  let now = 0;
  const clock = { advance: (ms: number) => (now += ms) };
  return { written, clock, recorder: new RefusalRecorder(audit, { windowMs: 1_000, maxRecords }, () => now) };
}

const total = (events: CredentialRejectedEvent[]) =>
  events.reduce((sum, event) => sum + (event.repeated ?? 1), 0);

describe('RefusalRecorder', () => {
  it('records the first refusal of a kind and counts its repeats into one summary', async () => {
    const { written, recorder: refusals } = recorder(10);
    for (let index = 0; index < 50; index += 1) await refusals.record(refusal('victim', `r${index}`));
    expect(written).toHaveLength(1);
    await refusals.flush();
    expect(written).toHaveLength(2);
    expect(written[1]).toMatchObject({ claimedAgentId: 'victim', repeated: 49 });
    expect(written[1]?.message).toContain('like record r0');
    expect(total(written)).toBe(50);
  });

  it('caps the kinds recorded per window, whatever identities are claimed', async () => {
    const { written, recorder: refusals } = recorder(5);
    for (let index = 0; index < 1_000; index += 1) await refusals.record(refusal(`noise-${index}`));
    await refusals.flush();
    expect(written).toHaveLength(6);
    expect(written[5]).toMatchObject({ code: 'over_record_cap', claimedAgentId: '', repeated: 995 });
    expect(total(written)).toBe(1_000);
  });

  it('starts a new window after the window length, writing the summaries of the last one', async () => {
    const { written, clock, recorder: refusals } = recorder(5);
    await refusals.record(refusal('victim', 'a'));
    await refusals.record(refusal('victim', 'b'));
    clock.advance(1_000);
    await refusals.record(refusal('victim', 'c'));
    expect(written.map((event) => [event.claimedAgentId, event.repeated])).toEqual([
      ['victim', undefined],
      ['victim', 1],
      ['victim', undefined],
    ]);
  });

  it('writes every summary of a window although one of them cannot be written, and reports the failure', async () => {
    const written: CredentialRejectedEvent[] = [];
    const audit = {
      append: async (event: CredentialRejectedEvent) => {
        if (event.repeated !== undefined && event.claimedAgentId === 'unwritable') throw new Error('refused');
        written.push(event);
      },
    } as unknown as AuditLog;
    const refusals = new RefusalRecorder(audit, { windowMs: 1_000, maxRecords: 2 }, () => 0);
    for (const claimed of ['unwritable', 'unwritable', 'other', 'other', 'third', 'fourth'])
      await refusals.record(refusal(claimed)).catch(() => {});
    await expect(refusals.flush()).rejects.toThrow(/refused/);
    expect(written.filter((event) => event.repeated !== undefined).map((event) => event.code)).toEqual([
      'bad_signature',
      'over_record_cap',
    ]);
  });

  it('refuses limits that would turn recording off', () => {
    const audit = {} as AuditLog;
    expect(() => new RefusalRecorder(audit, { maxRecords: 0 }, Date.now)).toThrow(/positive/);
    expect(() => new RefusalRecorder(audit, { windowMs: 0 }, Date.now)).toThrow(/positive/);
  });
});
