/**
 * @module spec/call-hash
 * The identity of an exact action: a SHA-256 over the RFC 8785 canonical JSON of principal, session,
 * tool and arguments. Approvals are bound to it, so an approval cannot be reused for another call.
 */
import { createHash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import type { ToolCall } from './tool-call.js';

// The package is CommonJS (module.exports = fn) but its typings declare an ES default export;
// under NodeNext the default import is the function itself at run time.
const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

export function callHash(call: ToolCall): string {
  const canonical = canonicalize({
    principal: call.principal,
    sessionId: call.sessionId,
    tool: call.tool,
    args: call.args,
  });
  if (canonical === undefined) throw new Error('call cannot be serialised');
  return `sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}
