/**
 * The OpenAPI document of the remote protocol: the copy in docs/ is the one the gateway serves, every
 * reference resolves, and the schemas accept and refuse what the server does.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { remoteCallsOpenApi } from './remote-openapi.js';

const DOCUMENT = resolve(import.meta.dirname, '../../docs/remote-protocol.openapi.json');

describe('the remote protocol OpenAPI document', () => {
  it('is the copy kept in docs/ (regenerate: npx tsx scripts/remote-openapi.ts, then biome format)', () => {
    expect(JSON.parse(readFileSync(DOCUMENT, 'utf8'))).toEqual(remoteCallsOpenApi());
  });

  it('names every endpoint and method the server serves, and every reference resolves', () => {
    const document = remoteCallsOpenApi() as {
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, unknown> };
    };
    expect(
      Object.entries(document.paths).map(([path, methods]) => `${Object.keys(methods).join()} ${path}`),
    ).toEqual([
      'post /v1/calls',
      'get /v1/calls/{id}',
      'post /v1/calls/{id}/outcome',
      'post /v1/calls/{id}/cancel',
    ]);
    const references = JSON.stringify(document).match(/#\/components\/schemas\/\w+/g) ?? [];
    for (const reference of references)
      expect(document.components.schemas).toHaveProperty(reference.split('/').at(-1) as string);
  });
});
