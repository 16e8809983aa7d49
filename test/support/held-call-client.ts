/**
 * @module test/support/held-call-client
 * A client process that makes one call which will be held for approval, then waits: for the tests that
 * kill the client while its call is held. Usage:
 *   node --import tsx test/support/held-call-client.ts <endpoint> <token>
 */
import { connectHttp } from './http-gateway.js';

const [endpoint, token] = process.argv.slice(2);
if (endpoint === undefined || token === undefined) throw new Error('usage: <endpoint> <token>');
const client = await connectHttp(endpoint, token);
// waits as long as it lives: the test kills it while the call is held
await client.callTool({ name: 'counting__write', arguments: { label: 'killed' } }, undefined, {
  timeout: 600_000,
});
