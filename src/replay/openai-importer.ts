/**
 * @module replay/openai-importer
 * Reads OpenAI-style chat logs into replay traces: a directory of `*.json` files, each either a list
 * of messages or `{ "messages": [...], "environment"?: string }` (`metadata.environment` also works).
 * `user` messages are the user's request (trusted input); each `assistant` message's `tool_calls`
 * (`{id, function: {name, arguments}}`, arguments as a JSON string) are the calls, answered by `tool`
 * messages with the same `tool_call_id`. Nothing else in a file is read.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { describeError } from '../spec/errors.js';
import { structureOf } from './tool-output.js';
import type { ReplayStep, ReplayTrace, TraceImporter, TraceProblem } from './trace.js';

export const OPENAI_AGENT = 'openai-agent';

type CallStep = Extract<ReplayStep, { kind: 'call' }>;

export class OpenAiImporter implements TraceImporter {
  readonly format = 'openai';

  async *read(source: string): AsyncIterable<ReplayTrace | TraceProblem> {
    for (const file of await jsonFiles(source)) {
      const id = relative(source, file).split(sep).join('/');
      try {
        yield toTrace(id, JSON.parse(await readFile(file, 'utf8')));
      } catch (error) {
        yield { kind: 'problem', id, message: `cannot read: ${describeError(error)}` };
      }
    }
  }
}

export function toTrace(id: string, log: unknown): ReplayTrace | TraceProblem {
  const record = (log ?? {}) as {
    messages?: unknown;
    environment?: unknown;
    metadata?: { environment?: unknown };
  };
  const messages = Array.isArray(log) ? log : record.messages;
  if (!Array.isArray(messages)) return { kind: 'problem', id, message: 'no `messages` list' };
  const declared = Array.isArray(log) ? undefined : (record.environment ?? record.metadata?.environment);
  const environment = typeof declared === 'string' && declared.length > 0 ? declared : undefined;
  const server = environment ?? 'openai';
  const steps: ReplayStep[] = [];
  const byId = new Map<string, number>();
  for (const message of messages) {
    if (message === null || typeof message !== 'object') continue;
    const { role, content } = message as { role?: unknown; content?: unknown };
    if (role === 'user') {
      const text = textOf(content);
      if (text.length > 0) steps.push({ kind: 'user-input', text });
    } else if (role === 'assistant') {
      const calls = (message as { tool_calls?: unknown }).tool_calls;
      if (!Array.isArray(calls)) continue;
      for (const call of calls) {
        const { id: callId, function: fn } = (call ?? {}) as {
          id?: unknown;
          function?: { name?: unknown; arguments?: unknown };
        };
        const name = typeof fn?.name === 'string' && fn.name.length > 0 ? fn.name : '(unnamed)';
        if (typeof callId === 'string') byId.set(callId, steps.length);
        steps.push({
          kind: 'call',
          tool: { server, name },
          args: argumentsOf(fn?.arguments),
          result: { ok: false, error: 'no recorded result' },
        });
      }
    } else if (role === 'tool') {
      const answers = (message as { tool_call_id?: unknown }).tool_call_id;
      const position = typeof answers === 'string' ? byId.get(answers) : undefined;
      const step = position === undefined ? undefined : steps[position];
      if (position === undefined || step?.kind !== 'call') continue;
      const answered: CallStep = {
        kind: 'call',
        tool: step.tool,
        args: step.args,
        result: { ok: true, output: structureOf(textOf(content)) },
      };
      steps[position] = answered;
    }
  }
  return { id, environment, agentId: OPENAI_AGENT, steps };
}

/** `arguments` is a JSON string in the API (an object in some logs); anything else is no arguments. */
function argumentsOf(raw: unknown): Record<string, unknown> {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      return { _unparsed: raw };
    }
  }
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => {
      const { text } = (part ?? {}) as { text?: unknown };
      return typeof text === 'string' ? text : '';
    })
    .join('\n');
}

async function jsonFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.json'))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}
