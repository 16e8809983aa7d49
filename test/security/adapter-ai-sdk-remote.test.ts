/**
 * @module test/security/adapter-ai-sdk-remote.test
 * Attack (issue 15, second outside review): a model repeating one tool-call id in a step ran the tool
 * twice (one record, two side effects); a result that is not JSON (BigInt) left the call open with no
 * outcome, and replaying its id ran it again. Fixed: one tool-call id runs once per process
 * (`runGoverned`), a result that is not JSON is reported as a failure, and an outcome that cannot be
 * reported ends the call on record (cancelled).
 */
import { generateText, stepCountIs, type ToolSet, tool } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { governTools } from '../../src/adapters/ai-sdk.js';
import { RemoteGovernor } from '../../src/adapters/remote-governor.js';
import { type PlannedCall, scriptedModel, seenBy } from '../support/ai-sdk-model.js';
import { type RemoteDeployment, startRemoteDeployment } from '../support/remote-deployment.js';

const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: attack }
tools:
  - { server: app, name: send, risk: low, effects: [write] }
  - { server: app, name: big, risk: low, effects: [read] }
rules:
  - { id: ok, effect: allow, tool: { server: app, name: [send, big] }, reason: fine }
redaction:
  outputs: { secret: redact }
`;

describe('attack: ai-sdk over the remote protocol', () => {
  let remote: RemoteDeployment;
  let governor: RemoteGovernor;
  beforeAll(async () => {
    remote = await startRemoteDeployment({ policy: POLICY });
    governor = new RemoteGovernor({ url: remote.url, token: remote.token, pollSeconds: 2 });
  }, 60_000);
  afterAll(async () => {
    await remote?.close();
  });

  const run = (tools: ToolSet, plan: PlannedCall[]) =>
    generateText({ model: scriptedModel([plan]), tools, stopWhen: stepCountIs(3), prompt: 'go' });

  it('a tool call id repeated in one step (parallel calls) runs the tool only once', async () => {
    let sent = 0;
    const tools = governTools(
      {
        send: tool({
          inputSchema: z.object({ to: z.string() }),
          execute: async ({ to }) => {
            sent++;
            await new Promise((r) => setTimeout(r, 50));
            return `sent to ${to}`;
          },
        }),
      },
      { governor, server: 'app' },
    );
    await run(tools, [
      { toolName: 'send', input: { to: 'bob' }, toolCallId: 'dup-1' },
      { toolName: 'send', input: { to: 'bob' }, toolCallId: 'dup-1' },
    ]);
    const records = remote.records().filter((r) => r.decisionId !== undefined);
    console.log(records.map((r) => `${r.kind} ${r.decisionId} ${r.outcome ?? ''}`));
    // one intent, one outcome in the log: the side effect must have happened once
    expect(sent).toBe(1);
  });

  it('a tool whose result is not JSON (BigInt) still has its outcome recorded, and does not run again', async () => {
    let runs = 0;
    const tools = governTools(
      {
        big: tool({
          inputSchema: z.object({ n: z.number() }),
          execute: async ({ n }) => {
            runs++;
            return { value: BigInt(n) };
          },
        }),
      },
      { governor, server: 'app' },
    );
    const first = await run(tools, [{ toolName: 'big', input: { n: 1 }, toolCallId: 'big-1' }]);
    console.log(JSON.stringify(seenBy(first)));
    // the same tool-call id again (a re-run of the step, a resumed conversation)
    await run(tools, [{ toolName: 'big', input: { n: 1 }, toolCallId: 'big-1' }]).catch(() => {});
    const records = remote.records();
    const intents = records.filter((r) => r.kind === 'call-intent');
    const outcomes = records.filter((r) => r.kind === 'call-outcome');
    const last = intents.at(-1)?.decisionId;
    console.log({ runs, outcomesForCall: outcomes.filter((o) => o.decisionId === last) });
    expect(outcomes.some((o) => o.decisionId === last)).toBe(true);
    expect(runs).toBe(1);
  });
});
