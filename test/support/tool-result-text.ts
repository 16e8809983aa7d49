/**
 * @module test/support/tool-result-text
 * The text of an MCP tool result: its text parts joined, what the tests read of a call's answer.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

export function textOf(result: unknown): string {
  return (result as CallToolResult).content.map((part) => (part.type === 'text' ? part.text : '')).join('');
}
