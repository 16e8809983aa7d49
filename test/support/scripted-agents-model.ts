/**
 * @module test/support/scripted-agents-model
 * A scripted model for the OpenAI Agents SDK, plugged in through the SDK's own `Model` interface (no
 * API key, no network). It is a function of the conversation, so a run resumed in another process
 * from a serialised `RunState` behaves as the first process would have: while the input holds no tool
 * result, it asks for the scripted tool calls (all in one turn); once the tool results are in, it
 * answers with a message quoting each result, which is how a test reads what the model was given.
 */
import type { Model, ModelRequest, ModelResponse, protocol } from '@openai/agents';
import { Usage } from '@openai/agents';

export interface ScriptedCall {
  readonly name: string;
  readonly args: Record<string, unknown>;
  /** The SDK's tool-call id (Reins' `callId`); unique per call. */
  readonly callId: string;
}

export class ScriptedModel implements Model {
  /** The tool results the model was given, by call id (the last request's). */
  readonly seen = new Map<string, string>();
  requests = 0;

  constructor(private readonly calls: readonly ScriptedCall[]) {}

  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    this.requests++;
    const input = typeof request.input === 'string' ? [] : request.input;
    const results = input.filter(
      (item): item is protocol.FunctionCallResultItem => item.type === 'function_call_result',
    );
    if (results.length === 0) return { usage: new Usage(), output: this.calls.map(functionCall) };
    for (const result of results) this.seen.set(result.callId, outputText(result.output));
    const text = results.map((result) => `${result.callId}: ${outputText(result.output)}`).join('\n');
    return { usage: new Usage(), output: [message(text)] };
  }

  // biome-ignore lint/correctness/useYield: the scripted model does not stream
  async *getStreamedResponse(): AsyncIterable<protocol.StreamEvent> {
    throw new Error('the scripted model does not stream');
  }
}

function functionCall(call: ScriptedCall): protocol.FunctionCallItem {
  return {
    type: 'function_call',
    callId: call.callId,
    name: call.name,
    arguments: JSON.stringify(call.args),
    status: 'completed',
  };
}

function message(text: string): protocol.AssistantMessageItem {
  return {
    type: 'message',
    role: 'assistant',
    status: 'completed',
    content: [{ type: 'output_text', text }],
  };
}

function outputText(output: protocol.FunctionCallResultItem['output']): string {
  if (typeof output === 'string') return output;
  if (!Array.isArray(output) && output.type === 'text') return output.text;
  return JSON.stringify(output);
}
