/**
 * @module test/support/openai-agents-resume-process
 * Another process resuming an interrupted OpenAI Agents SDK run, as an application would after a
 * restart: node --import tsx openai-agents-resume-process.ts <gateway url> <credential> <state file>
 * <calls json>. It builds the same agent (test/support/openai-agents-fixture), restores the run with
 * `RunState.fromString`, applies Reins' decisions (waiting for the humans up to 30 s) and resumes the
 * run. It prints one JSON line: the decisions, what the tools ran with, what the model was given.
 */
import { readFileSync } from 'node:fs';
import { RunState } from '@openai/agents';
import { applyReinsDecisions } from '../../src/adapters/openai-agents.js';
import { RemoteGovernor } from '../../src/adapters/remote-governor.js';
import { mailAgent, runner } from './openai-agents-fixture.js';

const [url, token, stateFile, callsJson] = process.argv.slice(2);
if (url === undefined || token === undefined || stateFile === undefined || callsJson === undefined)
  throw new Error('usage: <gateway url> <credential> <state file> <calls json>');

const governor = new RemoteGovernor({ url, token, pollSeconds: 2 });
const { agent, model, executed } = mailAgent(governor, JSON.parse(callsJson));
const state = await RunState.fromString(agent, readFileSync(stateFile, 'utf8'));
process.stdout.write('restored\n');
const applied = await applyReinsDecisions(state, { wait: true, timeoutMs: 30_000 });
const decisions = applied.decisions.map((decision) => decision.outcome);
let interruptions: number | undefined;
if (applied.ready) interruptions = (await runner.run(agent, state)).interruptions.length;
process.stdout.write(
  `${JSON.stringify({ decisions, interruptions, executed, seen: Object.fromEntries(model.seen) })}\n`,
);
