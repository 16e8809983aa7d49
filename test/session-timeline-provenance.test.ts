/**
 * @module test/session-timeline-provenance.test
 * The session timeline carries each call's argument provenance (issue 18) through the control API, as
 * its response schema says: the held send names the read and the untrusted field that introduced its
 * recipient, the allowed send its trusted field, the user's declared request and the model's own
 * values; a subagent's call names the session across the delegation hop. The session is recorded
 * through the real pipeline (test/support/provenance-session).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TimelineSchema } from '../src/api/api-routes.js';
import { pointerToken } from '../src/spec/provenance.js';
import {
  HTML_ARG,
  HTML_FIELD,
  type ProvenanceSession,
  REQUEST,
  SESSION,
  SUBAGENT_SESSION,
  startProvenanceSession,
} from './support/provenance-session.js';

let fixture: ProvenanceSession;

beforeAll(async () => {
  fixture = await startProvenanceSession();
}, 60_000);

afterAll(async () => {
  await fixture?.close();
});

async function timeline(sessionId: string) {
  const response = await fetch(`${fixture.url}/v1/sessions/${encodeURIComponent(sessionId)}/timeline`, {
    headers: { authorization: `Bearer ${fixture.tokens.viewer}` },
  });
  expect(response.status).toBe(200);
  // the answer is what the documented schema says, provenance included (strict: nothing unknown)
  return TimelineSchema.parse(await response.json());
}

describe('the session timeline carries argument provenance', () => {
  it('names, per argument, the call and field a value came from, its trust, and the request', async () => {
    const { steps } = await timeline(SESSION);
    const { read, heldSend, send, post } = fixture.calls;
    expect(steps.map((step) => step.decisionId)).toEqual([read, heldSend, send, post]);
    const [first, held, allowed, posted] = steps;
    expect(first?.provenance?.request).toEqual({ text: REQUEST, via: 'call' });
    expect(first?.provenance?.sources).toEqual([{ arg: '/id', match: 'value', trust: 'none' }]);
    expect(held?.intent?.event.kind === 'call-intent' && held.intent.event.decision.effect).toBe('approve');
    expect(held?.provenance?.sources).toContainEqual({
      arg: '/to',
      match: 'value',
      trust: 'untrusted',
      from: read,
      tool: 'crm/get_contact',
      field: '/notes',
    });
    expect(allowed?.provenance?.request).toBeUndefined();
    expect(allowed?.provenance?.sources).toEqual(
      expect.arrayContaining([
        {
          arg: '/to',
          match: 'value',
          trust: 'trusted',
          from: read,
          tool: 'crm/get_contact',
          field: '/email',
        },
        { arg: '/cc', match: 'value', trust: 'user', from: read },
        { arg: '/body', match: 'value', trust: 'none' },
      ]),
    );
    expect(posted?.provenance?.sources).toContainEqual({
      arg: `/${pointerToken(HTML_ARG)}`,
      match: 'value',
      trust: 'trusted',
      from: read,
      tool: 'crm/get_contact',
      field: `/${pointerToken(HTML_FIELD)}`,
    });
  });

  it("names the delegating session of a subagent's source", async () => {
    const { steps } = await timeline(SUBAGENT_SESSION);
    expect(steps[0]?.provenance?.sources).toContainEqual({
      arg: '/to',
      match: 'value',
      trust: 'trusted',
      from: fixture.calls.read,
      tool: 'crm/get_contact',
      field: '/email',
      session: SESSION,
    });
  });
});
