/**
 * @module test/support/monitor-fixture
 * A real deployment whose runtime monitor stops a session (issue 19): `reins serve` (in-process, the
 * console fixture) in front of server-everything from npm, with a policy whose `monitor:` section
 * alerts on a burst of reads and pauses a session that sends messages in a burst. The agent's calls go
 * through the real gateway (official MCP SDK client): four sums (the fourth raises the alert), then
 * three messages (the third crosses the pause rule's bound, is refused, and `reins:monitor` pauses the
 * session). Used by the monitor browser test and by `npm run screenshots`.
 */
import { type ConsoleFixture, startConsoleFixture } from './console-fixture.js';

export const MONITOR_POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: support-desk }
tools:
  - { server: everything, name: "echo", risk: high, effects: [external] }
  - { server: everything, name: "get-sum", risk: low, effects: [read] }
rules:
  - { id: sums, effect: allow, tool: { server: everything, name: get-sum }, reason: arithmetic is harmless }
  - { id: replies, effect: allow, tool: { server: everything, name: echo }, reason: the desk answers customers }
monitor:
  rules:
    - id: bulk-lookups
      signal: rate
      tool: { effects: [read] }
      window: 1m
      above: 3
      action: alert
      reason: more lookups in a minute than a support reply needs
    - id: mass-replies
      signal: rate
      tool: { effects: [external] }
      window: 5m
      above: 2
      action: pause
      reason: messages sent in a burst
`;

/** The session the monitor pauses, and what it records. */
export const BURST = {
  sessionId: 'support-chat-41',
  sums: 4,
  replies: 3,
} as const;

export interface MonitorFixture {
  readonly console: ConsoleFixture;
  /** The decision ids of the replies, in order (the last one was refused by the pause). */
  readonly replies: readonly string[];
  close(): Promise<void>;
}

interface Timeline {
  steps: { decisionId: string; tool: string }[];
}

export async function startMonitorFixture(): Promise<MonitorFixture> {
  const fixture = await startConsoleFixture({ policy: MONITOR_POLICY });
  try {
    const agent = await fixture.mcp(await fixture.agentToken(BURST.sessionId));
    for (let n = 1; n <= BURST.sums; n++)
      await agent.callTool({ name: 'everything__get-sum', arguments: { a: n, b: 40 } });
    for (let n = 1; n <= BURST.replies; n++)
      await agent.callTool({
        name: 'everything__echo',
        arguments: { message: `Ticket #${1200 + n}: your refund is on its way` },
      });
    await waitForPause(fixture);
    const timeline = await get<Timeline>(
      fixture,
      `/v1/sessions/${encodeURIComponent(BURST.sessionId)}/timeline`,
    );
    const replies = timeline.steps
      .filter((step) => step.tool === 'everything/echo')
      .map((step) => step.decisionId);
    return { console: fixture, replies, close: () => fixture.close() };
  } catch (error) {
    await fixture.close();
    throw error;
  }
}

/** A GET of the control API as the admin. */
export async function get<T>(fixture: ConsoleFixture, path: string): Promise<T> {
  const response = await fetch(`${fixture.serve.controlUrl}${path}`, {
    headers: { authorization: `Bearer ${fixture.tokens.admin}` },
  });
  if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** The pause is carried out after the finding is on record, by `reins:monitor` through oversight. */
async function waitForPause(fixture: ConsoleFixture): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const session = await get<{ status: string }>(
      fixture,
      `/v1/sessions/${encodeURIComponent(BURST.sessionId)}`,
    );
    if (session.status === 'paused') return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the monitor never paused the session');
}
