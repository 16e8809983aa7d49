/**
 * @module api/control-server
 * Puts the control-plane app on a Node HTTP listener (`@hono/node-server`). Closing ends open
 * connections too: the console's event streams would otherwise keep the server open forever.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';

export interface ControlServer {
  /** `http://host:port` */
  readonly url: string;
  close(): Promise<void>;
}

export async function listenControlApi(
  app: { fetch: (request: Request) => Response | Promise<Response> },
  listen: { host: string; port: number },
): Promise<ControlServer> {
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
