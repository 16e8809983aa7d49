// Writes docs/remote-protocol.openapi.json from the schemas the gateway validates with (gateway/remote-openapi);
// then `npx biome format --write docs/remote-protocol.openapi.json`.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { remoteCallsOpenApi } from '../src/gateway/remote-openapi.js';

writeFileSync(
  resolve(import.meta.dirname, '../docs/remote-protocol.openapi.json'),
  `${JSON.stringify(remoteCallsOpenApi(), null, 2)}\n`,
);
