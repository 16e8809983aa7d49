/**
 * @module test/security/adapter-ai-sdk-local.test
 * Attack (issue 15, second outside review): in the in-process mode a tool returned objects whose text
 * only appears when serialised (a class with `toJSON`, a URL with a password). The redaction screen
 * walked their keys, found nothing, and the model and the audit log got the secret once serialised.
 * Fixed: what the harness screens, records and returns is the result as JSON.
 */
import { generateText, stepCountIs, type ToolSet, tool } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { governTools } from '../../src/adapters/ai-sdk.js';
import { LocalGovernor } from '../../src/adapters/local-governor.js';
import { type InProcessReins, openInProcessReins } from '../../src/cli/in-process.js';
import { type PlannedCall, scriptedModel, seenBy } from '../support/ai-sdk-model.js';
import { type RemoteDeployment, startRemoteDeployment } from '../support/remote-deployment.js';

const SECRET = 'AKIAIOSFODNN7EXAMPLE';
const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: attack }
tools:
  - { server: app, name: fetch_config, risk: low, effects: [read] }
  - { server: app, name: send, risk: low, effects: [write] }
rules:
  - { id: ok, effect: allow, tool: { server: app, name: [fetch_config, send] }, reason: fine }
redaction:
  outputs: { secret: redact }
`;

/** A value with a serialised form only: an ORM row, a URL, a Decimal... */
class Row {
  constructor(private readonly hidden: string) {
    Object.defineProperty(this, 'hidden', { enumerable: false, value: hidden });
  }
  toJSON() {
    return { key: this.hidden };
  }
}

describe('attack: ai-sdk in process (LocalGovernor)', () => {
  let remote: RemoteDeployment;
  let reins: InProcessReins;
  let governor: LocalGovernor;
  beforeAll(async () => {
    remote = await startRemoteDeployment({ policy: POLICY, agentId: 'in-process' });
    await remote.gateway.stop();
    reins = await openInProcessReins({ config: remote.deployment.config, log: () => {} });
    governor = new LocalGovernor({
      harness: reins.harness,
      authenticator: reins.authenticator,
      token: remote.token,
    });
  }, 60_000);
  afterAll(async () => {
    await reins?.close();
    await remote?.close();
  });

  const run = (tools: ToolSet, plan: PlannedCall[]) =>
    generateText({ model: scriptedModel([plan]), tools, stopWhen: stepCountIs(3), prompt: 'go' });

  it('the model never sees a secret in a tool result that serialises through toJSON (class instance, URL)', async () => {
    const tools = governTools(
      {
        fetch_config: tool({
          inputSchema: z.object({ name: z.string() }),
          execute: async () => ({
            row: new Row(`the key is ${SECRET}`),
            db: new URL(`postgres://admin:${SECRET}@db.internal/app`),
          }),
        }),
      },
      { governor, server: 'app' },
    );
    const result = await run(tools, [
      { toolName: 'fetch_config', input: { name: 'db' }, toolCallId: 'tj-1' },
    ]);
    const seen = JSON.stringify(seenBy(result));
    console.log(seen);
    expect(seen).not.toContain(SECRET);
  });

  it('the audit log never holds a secret from such a result either', async () => {
    await reins.harness.settled();
    const records = JSON.stringify(remote.records());
    expect(records).not.toContain(SECRET);
  });
});
