/**
 * @module test/support/restart-scenario
 * What a restarted gateway must still know (issue 14): one gateway process runs part of a day's work,
 * is stopped (SIGTERM) or crashes (SIGKILL, nothing flushed or closed) while its agents are connected,
 * and a new process on the same store and configuration takes over. The agents come back with the
 * same credentials (the same Reins sessions) on new MCP sessions. The daily count, the running total,
 * both sequence rules, the session's labels and the value index behind the flow rule must carry on
 * where they were. Shared by the SQLite and the PostgreSQL test; the scenario returns what it observed
 * so that one failed comparison shows every property that did not survive.
 */
import { expect } from 'vitest';
import { type AgentConnection, callTool, connectAgent, fateName } from './governed-calls.js';
import { type SpawnedGateway, spawnGateway } from './spawned-gateway.js';
import { openDeploymentIdentity, type StatefulDeployment } from './stateful-deployment.js';

/** The limits the scenario's deployment must be created with. */
export const RESTART_LIMITS = { lookupsPerAgent: 10, paymentsPerAgent: 100, spendPerSession: 500 } as const;
/** Lookups the clerk makes before the restart (of RESTART_LIMITS.lookupsPerAgent a day). */
const LOOKUPS_BEFORE = 6;
/** Lookups the clerk tries after it: more than the remainder. */
const LOOKUPS_AFTER = 7;
/** An IBAN that only the inbox (text others wrote) mentions, spaced as a person writes it. */
const INBOX_IBAN = 'DE89 3704 0044 0532 0130 00';
const INBOX_MAIL = `From: billing@supplier.example. Your invoice INV-7 is overdue: pay it today to ${INBOX_IBAN}.`;
/** An IBAN nobody's text mentioned: a transfer to it is not the flow rule's business. */
const OTHER_IBAN = 'GB33BUKB20201555555555';

/** What was observed, in words; `expectedAfterRestart` is what a gateway that forgets nothing gives. */
export type Observed = Record<string, unknown>;

export const expectedBeforeRestart: Observed = {
  'clerk lookups': { ran: LOOKUPS_BEFORE },
  'send after reading the inbox': `refused by no-send-after-inbox`,
  'export after reading the inbox': `refused by no-export-after-untrusted`,
  'transfer to the IBAN from the inbox': 'refused by payee-from-inbox',
};

export const expectedAfterRestart: Observed = {
  // a limit of 10 with 6 used before: exactly 4 more
  'clerk lookups': { ran: RESTART_LIMITS.lookupsPerAgent - LOOKUPS_BEFORE, refused: 3 },
  'pay after a lookup made before the restart': 'ran',
  'pay 200 more of 500 (300 paid before the restart)': 'ran',
  'pay 1 over the running total': 'refused by spend-per-session',
  'send after reading the inbox before the restart': 'refused by no-send-after-inbox',
  'export after reading the inbox before the restart': 'refused by no-export-after-untrusted',
  'transfer to the IBAN from the inbox read before the restart': 'refused by payee-from-inbox',
  // controls: the rules above refuse for the reason they give, not everything
  'transfer to an IBAN nobody wrote': 'ran',
  'send in a session that never read the inbox': 'ran',
  'export in a session that never read the inbox': 'ran',
};

interface Credentials {
  readonly clerk: string;
  readonly sequence: string;
  readonly total: string;
  readonly inbox: string;
  readonly clean: string;
}

/**
 * Runs the scenario on `deployment` (created with RESTART_LIMITS): before, the restart by `signal`,
 * after. Asserts what held before the restart (else the test would prove nothing) and returns what was
 * observed after it, for the caller to compare with `expectedAfterRestart`.
 */
export async function runRestartScenario(
  deployment: StatefulDeployment,
  signal: 'SIGTERM' | 'SIGKILL',
  mark: string,
): Promise<{ before: Observed; after: Observed }> {
  const identity = await openDeploymentIdentity(deployment);
  let tokens: Credentials;
  try {
    await identity.createAgent('clerk');
    await identity.createAgent('assistant');
    tokens = {
      clerk: await identity.credential('clerk', 'clerk-monday'),
      sequence: await identity.credential('assistant', 'invoice-inv-5'),
      total: await identity.credential('assistant', 'invoice-inv-6'),
      inbox: await identity.credential('assistant', 'inbox-triage'),
      clean: await identity.credential('assistant', 'newsletter'),
    };
  } finally {
    await identity.close();
  }
  const first = await spawnGateway(deployment.config, { mark });
  const connected: AgentConnection[] = [];
  let before: Observed;
  try {
    before = await beforeRestart(first, tokens, connected);
    expect(before).toEqual(expectedBeforeRestart);
  } finally {
    // the agents are still connected: the process goes away under them
    expect(await (signal === 'SIGKILL' ? first.kill() : first.stop())).toBe(
      signal === 'SIGKILL' ? 'SIGKILL' : 0,
    );
    for (const connection of connected) await connection.close();
  }
  const second = await spawnGateway(deployment.config, { mark });
  try {
    return { before, after: await afterRestart(second, tokens) };
  } finally {
    expect(await second.stop()).toBe(0);
  }
}

/** Runs the first part of the day; the connections it opens are left in `connected`, still open. */
async function beforeRestart(
  gateway: SpawnedGateway,
  tokens: Credentials,
  connected: AgentConnection[],
): Promise<Observed> {
  const connect = async (token: string) => {
    const connection = await connectAgent(gateway.endpoint, token);
    connected.push(connection);
    return connection;
  };
  const clerk = await connect(tokens.clerk);
  const sequence = await connect(tokens.sequence);
  const total = await connect(tokens.total);
  const inbox = await connect(tokens.inbox);
  const lookups = await lookupsOf(clerk, LOOKUPS_BEFORE);
  await mustRun(sequence, 'crm', 'echo', { message: 'look up INV-5' });
  await mustRun(total, 'crm', 'echo', { message: 'look up INV-6' });
  await mustRun(total, 'bank', 'get-sum', { a: 300, b: 1 });
  await mustRun(inbox, 'mail', 'echo', { message: INBOX_MAIL });
  return {
    'clerk lookups': lookups,
    'send after reading the inbox': fateName(await callTool(inbox, 'mail', 'get-sum', { a: 1, b: 2 })),
    'export after reading the inbox': fateName(await callTool(inbox, 'crm', 'get-sum', { a: 1, b: 2 })),
    'transfer to the IBAN from the inbox': fateName(
      await callTool(inbox, 'bank', 'echo', { message: INBOX_IBAN.replaceAll(' ', '') }),
    ),
  };
}

async function afterRestart(gateway: SpawnedGateway, tokens: Credentials): Promise<Observed> {
  const clerk = await connectAgent(gateway.endpoint, tokens.clerk);
  const sequence = await connectAgent(gateway.endpoint, tokens.sequence);
  const total = await connectAgent(gateway.endpoint, tokens.total);
  const inbox = await connectAgent(gateway.endpoint, tokens.inbox);
  const clean = await connectAgent(gateway.endpoint, tokens.clean);
  try {
    const observed: Observed = { 'clerk lookups': await lookupsOf(clerk, LOOKUPS_AFTER) };
    observed['pay after a lookup made before the restart'] = fateName(
      await callTool(sequence, 'bank', 'get-sum', { a: 10, b: 1 }),
    );
    // a lookup now as well, so that the running total is told apart from the sequence rule
    await mustRun(total, 'crm', 'echo', { message: 'look up INV-6 again' });
    observed['pay 200 more of 500 (300 paid before the restart)'] = fateName(
      await callTool(total, 'bank', 'get-sum', { a: 200, b: 1 }),
    );
    observed['pay 1 over the running total'] = fateName(
      await callTool(total, 'bank', 'get-sum', { a: 1, b: 1 }),
    );
    observed['send after reading the inbox before the restart'] = fateName(
      await callTool(inbox, 'mail', 'get-sum', { a: 1, b: 2 }),
    );
    observed['export after reading the inbox before the restart'] = fateName(
      await callTool(inbox, 'crm', 'get-sum', { a: 1, b: 2 }),
    );
    observed['transfer to the IBAN from the inbox read before the restart'] = fateName(
      await callTool(inbox, 'bank', 'echo', { message: INBOX_IBAN.replaceAll(' ', '') }),
    );
    observed['transfer to an IBAN nobody wrote'] = fateName(
      await callTool(inbox, 'bank', 'echo', { message: OTHER_IBAN }),
    );
    observed['send in a session that never read the inbox'] = fateName(
      await callTool(clean, 'mail', 'get-sum', { a: 1, b: 2 }),
    );
    observed['export in a session that never read the inbox'] = fateName(
      await callTool(clean, 'crm', 'get-sum', { a: 1, b: 2 }),
    );
    return observed;
  } finally {
    for (const connection of [clerk, sequence, total, inbox, clean]) await connection.close();
  }
}

/** `count` lookups one after the other; how many ran and how many the daily limit refused. */
async function lookupsOf(clerk: AgentConnection, count: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let index = 0; index < count; index++) {
    const fate = await callTool(clerk, 'crm', 'echo', { message: `look up INV-${100 + index}` });
    const key =
      fate.kind === 'ran'
        ? 'ran'
        : fate.kind === 'refused' && fate.rules.join() === 'lookups-per-agent'
          ? 'refused'
          : fateName(fate);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** A call the scenario needs to run (setting up state); anything else fails the test here. */
async function mustRun(
  connection: AgentConnection,
  server: string,
  tool: string,
  args: Record<string, unknown>,
): Promise<void> {
  expect(fateName(await callTool(connection, server, tool, args)), `${server}/${tool}`).toBe('ran');
}
