/**
 * @module test/support/governed-calls
 * The agent's side of the stateful tests: official SDK clients over Streamable HTTP with a Reins
 * credential, and each call's result read as what happened to it — it ran (the upstream's own answer
 * came back), a rule refused it (named by the rule id its reason starts with, see stateful-deployment),
 * a held call was refused or expired, or something else went wrong (which no test expects).
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { connectHttpSession } from './http-gateway.js';
import { textOf } from './tool-result-text.js';

export interface AgentConnection {
  readonly client: Client;
  /** The MCP session the gateway (or the replica behind a proxy) opened. */
  readonly mcpSessionId: string;
  close(): Promise<void>;
}

/** Opens an MCP session at `endpoint` with `token` (initialize, then the session id is known). */
export async function connectAgent(endpoint: string, token: string): Promise<AgentConnection> {
  const { client, transport } = await connectHttpSession(endpoint, token);
  const mcpSessionId = transport.sessionId;
  if (mcpSessionId === undefined) throw new Error(`no MCP session id from ${endpoint}`);
  return {
    client,
    mcpSessionId,
    close: async () => {
      await transport.terminateSession().catch(() => {});
      await client.close();
    },
  };
}

/** What happened to one call. */
export type CallFate =
  | { readonly kind: 'ran'; readonly text: string }
  | { readonly kind: 'refused'; readonly rules: readonly string[]; readonly text: string }
  | { readonly kind: 'held-refused'; readonly text: string }
  | { readonly kind: 'abandoned'; readonly text: string }
  | { readonly kind: 'other'; readonly text: string };

/** The rule ids the fate is told apart by (each reason in the policy starts with its rule id). */
const RULE_IDS = [
  'lookups-per-agent',
  'payments-per-agent',
  'spend-per-session',
  'pay-after-lookup',
  'no-send-after-inbox',
  'payee-from-inbox',
  'no-export-after-untrusted',
] as const;

/** Calls `<server>__<tool>` and says what happened; never throws for a refusal. */
export async function callTool(
  connection: AgentConnection,
  server: string,
  tool: string,
  args: Record<string, unknown>,
): Promise<CallFate> {
  let result: CallToolResult;
  try {
    result = (await connection.client.callTool({ name: `${server}__${tool}`, arguments: args }, undefined, {
      timeout: 60_000,
    })) as CallToolResult;
  } catch (error) {
    return { kind: 'other', text: error instanceof Error ? error.message : String(error) };
  }
  const text = textOf(result);
  if (!result.isError && /^(Echo: |The sum of )/.test(text)) return { kind: 'ran', text };
  if (result.isError && /approval (expired|refused)/.test(text)) return { kind: 'held-refused', text };
  if (result.isError && text.startsWith('Reins refused this call:')) {
    const rules = RULE_IDS.filter((rule) => text.includes(rule));
    if (rules.length > 0) return { kind: 'refused', rules, text };
  }
  return { kind: 'other', text };
}

/**
 * Calls a tool that the policy holds for a human and gives up as soon as the gateway says the call is
 * waiting (its first progress notification), as a client that disconnects would: `abandoned`.
 */
export async function abandonWhenHeld(
  connection: AgentConnection,
  server: string,
  tool: string,
  args: Record<string, unknown>,
): Promise<CallFate> {
  const giveUp = new AbortController();
  try {
    const result = (await connection.client.callTool(
      { name: `${server}__${tool}`, arguments: args },
      undefined,
      {
        timeout: 60_000,
        signal: giveUp.signal,
        onprogress: () => giveUp.abort(new Error('the client stopped waiting')),
      },
    )) as CallToolResult;
    return { kind: 'other', text: `not held: ${JSON.stringify(result.content)}` };
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    return giveUp.signal.aborted ? { kind: 'abandoned', text } : { kind: 'other', text };
  }
}

/** One fate in a word: `ran`, `refused by <rules>`, `held-refused`, or `other: <text>`. */
export function fateName(fate: CallFate): string {
  if (fate.kind === 'refused') return `refused by ${fate.rules.join(', ')}`;
  if (fate.kind === 'other') return `other: ${fate.text}`;
  return fate.kind;
}

/** Counts fates: `ran`, `refused:<rule>` (once per rule named), `held-refused`, `other`. */
export function tally(fates: readonly CallFate[]): Record<string, number> {
  const counts: Record<string, number> = {};
  const add = (key: string) => {
    counts[key] = (counts[key] ?? 0) + 1;
  };
  for (const fate of fates) {
    if (fate.kind === 'refused') for (const rule of fate.rules) add(`refused:${rule}`);
    else add(fate.kind);
  }
  return counts;
}

/** Runs `tasks` with at most `concurrency` at once; results in task order. */
export async function runConcurrently<T>(
  tasks: readonly (() => Promise<T>)[],
  concurrency: number,
): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < tasks.length; index = next++)
      results[index] = await (tasks[index] as () => Promise<T>)();
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, worker));
  return results;
}
