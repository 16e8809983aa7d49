/**
 * @module test/security/adapter-ai-sdk-denied.test
 * Attack (issue 15, second outside review): a tool with its own `needsApproval` that the user refused in
 * the AI SDK had its call opened at Reins first (intent recorded, limits counted) and never ended.
 * Fixed: such a tool asks its user first; Reins hears of the call only once it is to run.
 */
import { generateText, type ModelMessage, stepCountIs, tool } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { governTools } from '../../src/adapters/ai-sdk.js';
import { RemoteGovernor } from '../../src/adapters/remote-governor.js';
import { scriptedModel } from '../support/ai-sdk-model.js';
import { type RemoteDeployment, startRemoteDeployment } from '../support/remote-deployment.js';

const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: attack }
tools:
  - { server: app, name: send, risk: low, effects: [write] }
rules:
  - { id: ok, effect: allow, tool: { server: app, name: send }, reason: fine }
`;

describe('attack: a call the SDK user refused', () => {
  let remote: RemoteDeployment;
  beforeAll(async () => {
    remote = await startRemoteDeployment({ policy: POLICY });
  }, 60_000);
  afterAll(async () => {
    await remote?.close();
  });

  it('a tool with its own needsApproval, refused by the user in the SDK, still ends on record', async () => {
    const governor = new RemoteGovernor({ url: remote.url, token: remote.token, pollSeconds: 2 });
    let sent = 0;
    const tools = governTools(
      {
        send: tool({
          inputSchema: z.object({ to: z.string() }),
          needsApproval: true,
          execute: async () => {
            sent++;
            return 'sent';
          },
        }),
      },
      { governor, server: 'app' },
    );
    const model = scriptedModel([[{ toolName: 'send', input: { to: 'bob' }, toolCallId: 'own-1' }]]);
    const first = await generateText({ model, tools, stopWhen: stepCountIs(3), prompt: 'go' });
    const messages: ModelMessage[] = [{ role: 'user', content: 'go' }, ...first.response.messages];
    messages.push({
      role: 'tool',
      content: first.content
        .filter((part) => part.type === 'tool-approval-request')
        .map((part) => ({
          type: 'tool-approval-response' as const,
          approvalId: part.approvalId,
          approved: false,
        })),
    });
    await generateText({ model, tools, stopWhen: stepCountIs(3), messages });
    expect(sent).toBe(0);
    const records = remote.records();
    const intents = records.filter((r) => r.kind === 'call-intent').map((r) => r.decisionId);
    const outcomes = records.filter((r) => r.kind === 'call-outcome').map((r) => r.decisionId);
    console.log({ intents, outcomes });
    expect(new Set(outcomes)).toEqual(new Set(intents));
  });
});
