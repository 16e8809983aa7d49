/**
 * @module test/support/openai-agents-fixture
 * The agent of the `reins/openai-agents` end-to-end tests, built the same way by the test and by the
 * process that resumes its interrupted runs (test/support/openai-agents-resume-process.ts): three
 * tools governed under server `app`, driven by the scripted model, and the policy they are decided by.
 */
import { Agent, Runner } from '@openai/agents';
import { z } from 'zod';
import type { ToolGovernor } from '../../src/adapters/governor.js';
import { type ReinsToolOptions, reinsTool } from '../../src/adapters/openai-agents.js';
import { type ScriptedCall, ScriptedModel } from './scripted-agents-model.js';

/** An AWS example key: the lookup tool returns it, the policy redacts it. */
export const SECRET = 'AKIAIOSFODNN7EXAMPLE';

export const MAIL_POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: openai-agents-mail }
tools:
  - { server: app, name: lookup_customer, risk: low, effects: [read] }
  - { server: app, name: send_email, risk: medium, effects: [external] }
  - { server: app, name: delete_account, risk: critical, effects: [irreversible] }
rules:
  - { id: lookups, effect: allow, tool: { server: app, name: lookup_customer }, reason: the assistant looks customers up }
  - { id: mail-needs-a-human, effect: approve, tool: { server: app, name: send_email }, reason: a human approves every mail }
  - { id: never-delete, effect: deny, tool: { server: app, name: delete_account }, reason: accounts are never deleted by an agent }
limits:
  - id: lookups-per-session
    tool: { server: app, name: lookup_customer }
    per: [session]
    window: 24h
    max: 3
    reason: at most 3 lookups per session
redaction:
  outputs: { secret: redact }
`;

/** What a tool really ran with, in the order it ran. */
export interface Execution {
  readonly tool: string;
  readonly args: unknown;
}

export interface MailAgent {
  readonly agent: Agent;
  readonly model: ScriptedModel;
  readonly executed: Execution[];
}

export const runner = new Runner({ tracingDisabled: true });

/** The agent, its scripted model and the log of what its tools really ran. */
export function mailAgent(
  governor: ToolGovernor,
  calls: readonly ScriptedCall[],
  extra: Partial<ReinsToolOptions> = {},
): MailAgent {
  const options: ReinsToolOptions = { governor, server: 'app', ...extra };
  const executed: Execution[] = [];
  const ran = (tool: string, args: unknown) => executed.push({ tool, args });
  const lookup = reinsTool(options, {
    name: 'lookup_customer',
    description: 'Look a customer up by name',
    parameters: z.object({ customer: z.string() }),
    execute: async (input) => {
      ran('lookup_customer', input);
      return { customer: input.customer, plan: 'pro', apiKey: SECRET };
    },
  });
  const send = reinsTool(options, {
    name: 'send_email',
    description: 'Send an email',
    parameters: z.object({ to: z.string(), subject: z.string() }),
    execute: async (input) => {
      ran('send_email', input);
      return `sent "${input.subject}" to ${input.to}`;
    },
  });
  const remove = reinsTool(options, {
    name: 'delete_account',
    description: 'Delete a customer account',
    parameters: z.object({ customer: z.string() }),
    execute: async (input) => {
      ran('delete_account', input);
      return `deleted ${input.customer}`;
    },
  });
  const model = new ScriptedModel(calls);
  const agent = new Agent({
    name: 'mail-assistant',
    instructions: 'Help with customer mail.',
    model,
    tools: [lookup, send, remove],
  });
  return { agent, model, executed };
}
