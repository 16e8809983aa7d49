/**
 * @module api/routes/events
 * `GET /v1/events` (viewers): the oversight service's events (approvals, votes, session and agent
 * changes) as a server-sent event stream, for the console to follow without polling. The stream lives
 * no longer than the credential that opened it: before every event and keep-alive it checks its caller
 * again (the console session not logged out or expired — an OIDC one ends with its ID token — the API
 * token not rotated or deleted, the viewer role still held) and ends when that fails.
 */
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { OversightEvent } from '../../oversight/oversight.js';
import { routes } from '../api-routes.js';
import { identifyCaller, requireUser } from '../caller.js';
import { type ControlApp, type ControlServices, userOf } from './control-services.js';

/** A comment this often keeps proxies from closing an idle stream (and re-checks the caller). */
const KEEP_ALIVE_MS = 15_000;

export function mountEventRoute(app: ControlApp, services: ControlServices): void {
  const { oversight } = services;

  app.openapi(routes.events, async (context) => {
    userOf(context, 'viewer');
    const stillAllowed = callerCheck(context, services);
    return streamSSE(context, async (stream) => {
      const queue: OversightEvent[] = [];
      let wake: (() => void) | undefined;
      const unsubscribe = oversight.subscribe((event) => {
        queue.push(event);
        wake?.();
      });
      stream.onAbort(() => {
        unsubscribe();
        wake?.();
      });
      await stream.writeSSE({ event: 'ready', data: '{}' });
      try {
        while (!stream.aborted && !stream.closed) {
          const event = queue.shift();
          if (event !== undefined) {
            if (!(await stillAllowed())) break; // nothing more for a caller whose session ended
            await stream.writeSSE({ event: event.type, data: JSON.stringify(event) });
            continue;
          }
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, KEEP_ALIVE_MS);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
          if (queue.length === 0 && !stream.aborted) {
            if (!(await stillAllowed())) break;
            await stream.write(': keep-alive\n\n');
          }
        }
      } finally {
        unsubscribe();
      }
    });
  });
}

/**
 * Whether the request's caller would still be let in as a viewer now. The check does not count as
 * console activity: an open stream must not keep an idle session alive. Any failure says no.
 */
function callerCheck(context: Context, services: ControlServices): () => Promise<boolean> {
  const sources = { users: services.users, sessions: services.sessions };
  return async () => {
    try {
      requireUser(await identifyCaller(context, sources, { activity: false }), 'viewer');
      return true;
    } catch {
      return false;
    }
  };
}
