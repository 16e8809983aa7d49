/**
 * @module api/routes/events
 * `GET /v1/events` (viewers): the oversight service's events (approvals, votes, session and agent
 * changes) as a server-sent event stream, for the console to follow without polling.
 */
import { streamSSE } from 'hono/streaming';
import type { OversightEvent } from '../../oversight/oversight.js';
import { routes } from '../api-routes.js';
import { type ControlApp, type ControlServices, userOf } from './control-services.js';

/** A comment this often keeps proxies from closing an idle stream. */
const KEEP_ALIVE_MS = 15_000;

export function mountEventRoute(app: ControlApp, services: ControlServices): void {
  const { oversight } = services;

  app.openapi(routes.events, async (context) => {
    userOf(context, 'viewer');
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
          if (queue.length === 0 && !stream.aborted) await stream.write(': keep-alive\n\n');
        }
      } finally {
        unsubscribe();
      }
    });
  });
}
