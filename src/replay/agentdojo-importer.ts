/**
 * @module replay/agentdojo-importer
 * Reads AgentDojo runs (`runs/<pipeline>/<suite>/<user_task>/<attack>/<injection_task>.json`, or any
 * tree of such JSON files) into replay traces.
 *
 * It reads exactly two fields of a run: `suite_name` (which environment, to pick the policy) and
 * `messages` (the user's words, the tool calls and their recorded results). It never looks at
 * `security`, `utility`, `injection_task_id`, `attack_type`, `injections` or at the path below the
 * source directory (which names the attack): a guard that saw them would be judging with the answers.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { describeError } from '../spec/errors.js';
import { structureOf } from './tool-output.js';
import type { ReplayStep, ReplayTrace, TraceImporter, TraceProblem } from './trace.js';

export const AGENTDOJO_AGENT = 'agentdojo-agent';

export class AgentDojoImporter implements TraceImporter {
  readonly format = 'agentdojo';

  async *read(source: string): AsyncIterable<ReplayTrace | TraceProblem> {
    for (const file of await jsonFiles(source)) {
      // the id is the path relative to the source, as the scorer expects; it is written, never read
      const id = relative(source, file).split(sep).join('/');
      let run: unknown;
      try {
        run = JSON.parse(await readFile(file, 'utf8'));
      } catch (error) {
        yield { kind: 'problem', id, message: `cannot read: ${describeError(error)}` };
        continue;
      }
      yield toTrace(id, run);
    }
  }
}

/** Only `suite_name` and `messages` are taken from the run. */
export function toTrace(id: string, run: unknown): ReplayTrace | TraceProblem {
  if (run === null || typeof run !== 'object') return { kind: 'problem', id, message: 'not a JSON object' };
  const { suite_name: suite, messages } = run as { suite_name?: unknown; messages?: unknown };
  if (!Array.isArray(messages)) return { kind: 'problem', id, message: '`messages` is not a list' };
  const environment = typeof suite === 'string' && suite.length > 0 ? suite : undefined;
  const server = environment ?? 'agentdojo';
  const steps: ReplayStep[] = [];
  // results answer calls by id when ids exist; otherwise in order
  const pending: { id: string | undefined; index: number }[] = [];
  for (const message of messages) {
    if (message === null || typeof message !== 'object') continue;
    const { role, content } = message as { role?: unknown; content?: unknown };
    if (role === 'user') {
      const text = textOf(content);
      if (text.length > 0) steps.push({ kind: 'user-input', text });
    } else if (role === 'assistant') {
      const toolCalls = (message as { tool_calls?: unknown }).tool_calls;
      if (!Array.isArray(toolCalls)) continue;
      for (const call of toolCalls) {
        const {
          function: name,
          args,
          id: callId,
        } = (call ?? {}) as { function?: unknown; args?: unknown; id?: unknown };
        const position = steps.length;
        steps.push({
          kind: 'call',
          tool: { server, name: typeof name === 'string' && name.length > 0 ? name : '(unnamed)' },
          args:
            args !== null && typeof args === 'object' && !Array.isArray(args)
              ? (args as Record<string, unknown>)
              : {},
          result: { ok: false, error: 'no recorded result' },
        });
        pending.push({
          id: typeof callId === 'string' && callId.length > 0 ? callId : undefined,
          index: position,
        });
      }
    } else if (role === 'tool') {
      const { tool_call_id: answers, error } = message as { tool_call_id?: unknown; error?: unknown };
      let slot = pending.findIndex((entry) => entry.id !== undefined && entry.id === answers);
      if (slot === -1) slot = 0;
      const target = pending[slot];
      if (target === undefined) continue;
      pending.splice(slot, 1);
      const step = steps[target.index] as ReplayStep & { kind: 'call' };
      const text = textOf(content);
      const result =
        typeof error === 'string' && error.length > 0
          ? { ok: false as const, error }
          : { ok: true as const, output: structureOf(text) };
      steps[target.index] = { kind: 'call', tool: step.tool, args: step.args, result };
    }
  }
  return { id, environment, agentId: AGENTDOJO_AGENT, steps };
}

/** `content` is a string or (newer runs) a list of `{type: "text", content|text}` blocks. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return content === null || content === undefined ? '' : String(content);
  return content
    .map((block) => {
      if (block === null || typeof block !== 'object') return '';
      const { content: inner, text } = block as { content?: unknown; text?: unknown };
      return typeof inner === 'string' ? inner : typeof text === 'string' ? text : '';
    })
    .join('\n');
}

/** Every `*.json` under `root`, sorted, so output order is stable. */
async function jsonFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (directory: string) => {
    const entries = await readdir(directory, { withFileTypes: true });
    entries.sort((left, right) => (left.name < right.name ? -1 : left.name > right.name ? 1 : 0));
    for (const entry of entries) {
      const full = join(directory, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile() && entry.name.endsWith('.json')) out.push(full);
    }
  };
  await walk(root);
  return out;
}
