/**
 * @module adapters/local-governor
 * The in-process mode of the adapters: a `ToolGovernor` over a harness in the application's own process
 * (see cli/in-process). The same pipeline and the same credential verification as the gateway's remote
 * protocol — every request authenticated with the agent's Reins credential, never with roles the caller
 * asserts — but the store and keys live in this process, so it suits a trusted single-process
 * application only (SECURITY.md).
 */

import { callerOfCredential } from '../auth/agent-standing.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { CallAnswer, Harness } from '../harness/harness.js';
import { openRequestOf } from '../harness/open-calls.js';
import type { CallerRef } from '../harness/types.js';
import {
  CALL_REFUSAL_STATUS,
  type CallState,
  type OpenCallRequest,
  OpenCallRequestSchema,
  type OutcomeReport,
  OutcomeReportSchema,
} from '../spec/remote-call.js';
import { GovernorError, type ToolGovernor, type WaitOptions } from './governor.js';

export interface LocalGovernorOptions {
  readonly harness: Pick<Harness, 'open' | 'get' | 'wait' | 'complete' | 'cancel'>;
  readonly authenticator: Pick<Authenticator, 'authenticate'>;
  /** The agent's Reins credential, or a function returning the current one. */
  readonly token: string | (() => string | Promise<string>);
}

export class LocalGovernor implements ToolGovernor {
  constructor(private readonly options: LocalGovernorOptions) {}

  async open(request: OpenCallRequest): Promise<CallState> {
    const caller = await this.caller();
    const parsed = OpenCallRequestSchema.safeParse(request);
    if (!parsed.success)
      throw new GovernorError('invalid_request', `invalid call: ${parsed.error.message}`, 400);
    const answer = await this.options.harness.open(openRequestOf(caller, parsed.data), parsed.data.callId);
    return stateOf(answer);
  }

  async get(id: string): Promise<CallState> {
    return stateOf(await this.options.harness.get(await this.caller(), id));
  }

  async wait(id: string, options: WaitOptions = {}): Promise<CallState> {
    const caller = await this.caller();
    const timeoutMs = options.timeoutMs ?? Number.MAX_SAFE_INTEGER;
    return stateOf(await this.options.harness.wait(caller, id, timeoutMs, options.signal));
  }

  async complete(id: string, report: OutcomeReport): Promise<CallState> {
    const parsed = OutcomeReportSchema.safeParse(report);
    if (!parsed.success) throw new GovernorError('invalid_request', 'invalid outcome report', 400);
    return stateOf(await this.options.harness.complete(await this.caller(), id, parsed.data));
  }

  async cancel(id: string, reason?: string): Promise<CallState> {
    return stateOf(await this.options.harness.cancel(await this.caller(), id, reason ?? ''));
  }

  /** Every request is authenticated as the gateway would: revocations and suspensions apply at once. */
  private async caller(): Promise<CallerRef> {
    const token = typeof this.options.token === 'function' ? await this.options.token() : this.options.token;
    const auth = await this.options.authenticator.authenticate(`Bearer ${token}`);
    if (!auth.ok) throw new GovernorError(auth.code, auth.message, 401);
    return callerOfCredential(auth);
  }
}

function stateOf(answer: CallAnswer): CallState {
  if (answer.ok) return answer.state;
  throw new GovernorError(answer.code, answer.message, CALL_REFUSAL_STATUS[answer.code]);
}
