/**
 * @module adapters/remote-governor
 * The client of the remote enforcement protocol: a `ToolGovernor` that speaks HTTP to a Reins gateway
 * (`/v1/calls` next to `/mcp`) with the agent's credential. The agent's process then holds no store, no
 * key and no log: whatever it does, the record and the decisions stay on the gateway.
 */
import {
  type CallState,
  CallStateSchema,
  type OpenCallRequest,
  type OutcomeReport,
} from '../spec/remote-call.js';
import { GovernorError, type ToolGovernor, type WaitOptions } from './governor.js';

export interface RemoteGovernorOptions {
  /** The gateway's base URL, e.g. `http://127.0.0.1:8787` (the protocol is under `/v1/calls`). */
  readonly url: string;
  /** The agent's Reins credential, or a function returning the current one (rotation). */
  readonly token: string | (() => string | Promise<string>);
  /** Seconds one long-poll waits on the server before asking again (1..60, default 25). */
  readonly pollSeconds?: number;
  readonly fetch?: typeof fetch;
}

export class RemoteGovernor implements ToolGovernor {
  private readonly base: string;
  private readonly fetcher: typeof fetch;
  private readonly pollSeconds: number;

  constructor(private readonly options: RemoteGovernorOptions) {
    this.base = `${options.url.replace(/\/+$/, '')}/v1/calls`;
    this.fetcher = options.fetch ?? fetch;
    this.pollSeconds = Math.min(60, Math.max(1, Math.floor(options.pollSeconds ?? 25)));
  }

  open(request: OpenCallRequest, signal?: AbortSignal): Promise<CallState> {
    return this.request('POST', this.base, request, signal);
  }

  get(id: string, signal?: AbortSignal): Promise<CallState> {
    return this.request('GET', `${this.base}/${encodeURIComponent(id)}`, undefined, signal);
  }

  async wait(id: string, options: WaitOptions = {}): Promise<CallState> {
    const deadline =
      options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs;
    for (;;) {
      const left = Math.ceil((deadline - Date.now()) / 1000);
      const seconds = Math.max(0, Math.min(this.pollSeconds, left));
      const url = `${this.base}/${encodeURIComponent(id)}?wait=${seconds}`;
      const state = await this.request('GET', url, undefined, options.signal);
      if (state.status !== 'held' || Date.now() >= deadline) return state;
    }
  }

  complete(id: string, report: OutcomeReport, signal?: AbortSignal): Promise<CallState> {
    return this.request('POST', `${this.base}/${encodeURIComponent(id)}/outcome`, report, signal);
  }

  cancel(id: string, reason?: string, signal?: AbortSignal): Promise<CallState> {
    const body = reason === undefined ? {} : { reason };
    return this.request('POST', `${this.base}/${encodeURIComponent(id)}/cancel`, body, signal);
  }

  private async request(
    method: 'GET' | 'POST',
    url: string,
    body: unknown,
    signal: AbortSignal | undefined,
  ): Promise<CallState> {
    const token = typeof this.options.token === 'function' ? await this.options.token() : this.options.token;
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await this.fetcher(url, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(signal ? { signal } : {}),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new GovernorError(
        'bad_response',
        `Reins answered ${response.status} with a body that is not JSON`,
        response.status,
      );
    }
    if (!response.ok) {
      const error = parsed as { error?: unknown; message?: unknown };
      throw new GovernorError(
        typeof error.error === 'string' ? error.error : 'error',
        typeof error.message === 'string' ? error.message : `Reins answered ${response.status}`,
        response.status,
      );
    }
    const state = CallStateSchema.safeParse(parsed);
    if (!state.success)
      throw new GovernorError(
        'bad_response',
        'Reins answered with a call state this client cannot read',
        response.status,
      );
    return state.data;
  }
}
