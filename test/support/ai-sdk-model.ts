/**
 * @module test/support/ai-sdk-model
 * A scripted language model for Vercel AI SDK 6 tests, built on the SDK's own `MockLanguageModelV3`
 * (`ai/test`): when the prompt ends with the user's message it calls the next planned tools; when it
 * ends with tool results it answers with a text that lists what it saw, so a test reads what the model
 * was given (`seenBy`). Both `generateText` (doGenerate) and `streamText` (doStream) are scripted.
 */
import { convertArrayToReadableStream, MockLanguageModelV3 } from 'ai/test';

// The provider specification's types, as the mock model declares them (`@ai-sdk/provider` is the SDK's own
// dependency, not this package's).
type LanguageModelV3CallOptions = Parameters<MockLanguageModelV3['doGenerate']>[0];
type LanguageModelV3GenerateResult = Awaited<ReturnType<MockLanguageModelV3['doGenerate']>>;
type LanguageModelV3Content = LanguageModelV3GenerateResult['content'][number];
type LanguageModelV3StreamPart =
  Awaited<ReturnType<MockLanguageModelV3['doStream']>>['stream'] extends ReadableStream<infer P> ? P : never;

/** One tool call the model will make. */
export interface PlannedCall {
  readonly toolName: string;
  readonly input: Record<string, unknown>;
  /** Default: `call-<n>`, numbered across the model's life. */
  readonly toolCallId?: string;
}

/** What the model saw of one tool call: the tool result part of its prompt. */
export interface SeenResult {
  readonly toolCallId: string;
  readonly toolName: string;
  /** `{type: 'text' | 'json' | 'error-text' | 'execution-denied', value?, reason?}` */
  readonly output: { readonly type: string; readonly value?: unknown; readonly reason?: string };
}

const USAGE = {
  inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 1, text: 1, reasoning: 0 },
};

/** The tool results of the prompt's last message, when it is a tool message. */
function lastToolResults(options: LanguageModelV3CallOptions): SeenResult[] | undefined {
  const last = options.prompt.at(-1);
  if (last?.role !== 'tool') return undefined;
  return last.content.flatMap((part) =>
    part.type === 'tool-result'
      ? [
          {
            toolCallId: part.toolCallId,
            toolName: part.toolName,
            output: part.output as SeenResult['output'],
          },
        ]
      : [],
  );
}

/**
 * A model that makes `turns[0]`'s calls at the first user message, `turns[1]`'s at the next, and so on
 * (no calls left: it answers "done"), and replies to tool results with their JSON.
 */
export function scriptedModel(turns: readonly (readonly PlannedCall[])[]): MockLanguageModelV3 {
  let turn = 0;
  let callNumber = 0;
  const respond = (
    options: LanguageModelV3CallOptions,
  ): { content: LanguageModelV3Content[]; calls: boolean } => {
    const seen = lastToolResults(options);
    if (seen !== undefined) return { content: [{ type: 'text', text: JSON.stringify(seen) }], calls: false };
    const planned = turns[turn++] ?? [];
    if (planned.length === 0) return { content: [{ type: 'text', text: 'done' }], calls: false };
    const content: LanguageModelV3Content[] = planned.map((call) => ({
      type: 'tool-call',
      toolCallId: call.toolCallId ?? `call-${++callNumber}`,
      toolName: call.toolName,
      input: JSON.stringify(call.input),
    }));
    return { content, calls: true };
  };
  return new MockLanguageModelV3({
    doGenerate: async (options): Promise<LanguageModelV3GenerateResult> => {
      const { content, calls } = respond(options);
      const unified = calls ? 'tool-calls' : 'stop';
      return { content, finishReason: { unified, raw: unified }, usage: USAGE, warnings: [] };
    },
    doStream: async (options) => {
      const { content, calls } = respond(options);
      const unified = calls ? 'tool-calls' : 'stop';
      const parts: LanguageModelV3StreamPart[] = [{ type: 'stream-start', warnings: [] }];
      for (const part of content) {
        if (part.type === 'text')
          parts.push(
            { type: 'text-start', id: 't' },
            { type: 'text-delta', id: 't', delta: part.text },
            { type: 'text-end', id: 't' },
          );
        else parts.push(part as LanguageModelV3StreamPart);
      }
      parts.push({ type: 'finish', finishReason: { unified, raw: unified }, usage: USAGE });
      return { stream: convertArrayToReadableStream(parts) };
    },
  });
}

/** The tool results the model saw last, from its answer (`[]` when it answered something else). */
export function seenBy(result: { readonly text: string }): SeenResult[] {
  try {
    const parsed: unknown = JSON.parse(result.text);
    return Array.isArray(parsed) ? (parsed as SeenResult[]) : [];
  } catch {
    return [];
  }
}

/** `seenBy` for a `streamText` result, once it has finished. */
export async function seenByStream(result: { readonly text: PromiseLike<string> }): Promise<SeenResult[]> {
  return seenBy({ text: await result.text });
}
