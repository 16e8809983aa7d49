/**
 * @module test/support/concurrency-scenario
 * N gateway processes x M concurrent callers against one budget (issue 14): a daily count of payments
 * per agent, decided by three `reins gateway` processes on one store at once. Some payments are let
 * through by the limit and then do not run: held for a human who refuses them, held until they expire,
 * or given up by the client while held. Every unit they reserved must come back. So after the run the
 * remaining budget is probed (payments one at a time, through every process in turn, until the limit
 * refuses) and must be exactly what the run did not spend: never more was spent than the budget, and
 * the budget is reached. Shared by the SQLite and the PostgreSQL test.
 */
import { expect } from 'vitest';
import { eventually } from './eventually.js';
import {
  type AgentConnection,
  abandonWhenHeld,
  type CallFate,
  callTool,
  connectAgent,
  fateName,
  tally,
} from './governed-calls.js';
import { type SpawnedGateway, spawnGateway } from './spawned-gateway.js';
import {
  createApprover,
  LARGE_PAYMENT,
  openDeploymentIdentity,
  operateAs,
  type StatefulDeployment,
} from './stateful-deployment.js';

/** The budget is `paymentsPerAgent`; the other limits stay out of the way. */
export const CONCURRENCY_LIMITS = {
  lookupsPerAgent: 1_000,
  paymentsPerAgent: 20,
  spendPerSession: 100_000_000,
} as const;
const BUDGET = CONCURRENCY_LIMITS.paymentsPerAgent;
const PROCESSES = 3;
const CALLERS_PER_PROCESS = 3;
const PAYMENTS_PER_CALLER = 6;
/** Which payment of each caller is a large one (held, expires after a second). */
const LARGE_AT = 3;
/** A payee not on the list: the payment is held for a human. */
const NEW_PAYEE = 9;
const ORDINARY = { a: 10, b: 1 };

export interface ConcurrencyOutcome {
  readonly budget: number;
  /** Payments that ran during the concurrent run (phases 0 and 1). */
  readonly ranInRun: number;
  /** Every fate of the run, counted (see governed-calls `tally`). */
  readonly run: Record<string, number>;
  /** Payments the probe got through after the run, and what stopped it. */
  readonly probeRan: number;
  readonly probeEndedBy: string;
}

/** What a store that keeps the budget exactly gives, next to what was observed (one comparison shows all). */
export function budgetKept(outcome: ConcurrencyOutcome): { observed: object; expected: object } {
  const { budget, ranInRun, probeRan, run } = outcome;
  const expectedFates = /^(abandoned|held-refused|ran|refused:payments-per-agent)$/;
  return {
    observed: {
      'payments that ran beyond the budget': Math.max(0, ranInRun - budget),
      'payments that ran in the run and then in the probe': ranInRun + probeRan,
      'the probe ended by': outcome.probeEndedBy,
      'fates other than ran, refused by the limit, held and refused, abandoned': Object.keys(run).filter(
        (fate) => !expectedFates.test(fate),
      ),
      'held payments refused (2 by the human, the large ones by expiry)': (run['held-refused'] ?? 0) >= 2,
      'held payments given up by the client': run.abandoned,
      'the limit refused some payments in the run (the callers contended)':
        (run['refused:payments-per-agent'] ?? 0) > 0,
    },
    expected: {
      'payments that ran beyond the budget': 0,
      // the budget is reached, and nothing reserved by a payment that did not run is lost
      'payments that ran in the run and then in the probe': budget,
      'the probe ended by': 'refused by payments-per-agent',
      'fates other than ran, refused by the limit, held and refused, abandoned': [],
      'held payments refused (2 by the human, the large ones by expiry)': true,
      'held payments given up by the client': 2,
      'the limit refused some payments in the run (the callers contended)': true,
    },
  };
}

/** Runs the scenario on `deployment` (created with CONCURRENCY_LIMITS). */
export async function runConcurrencyScenario(
  deployment: StatefulDeployment,
  mark: string,
): Promise<ConcurrencyOutcome> {
  const tokens = await credentials(deployment);
  // the approver is set up with the CLI while the gateways start
  const approver = createApprover(deployment);
  approver.catch(() => {}); // awaited below; a failure before then must not go unhandled
  // all at once, on a store and a tool lock none of them has seen yet
  const gateways = await Promise.all(
    Array.from({ length: PROCESSES }, () => spawnGateway(deployment.config, { mark })),
  );
  const opened: AgentConnection[] = [];
  const connect = async (index: number, token: string) => {
    const gateway = gateways[index % gateways.length] as SpawnedGateway;
    const connection = await connectAgent(gateway.endpoint, token);
    opened.push(connection);
    // the sequence rule wants a lookup first, on this process (so it holds whatever the store shares)
    expect(fateName(await callTool(connection, 'crm', 'echo', { message: 'look up INV-1' }))).toBe('ran');
    return connection;
  };
  try {
    const callers = await Promise.all(tokens.callers.map((token, index) => connect(index, token)));
    const refused = [await connect(0, tokens.refused[0]), await connect(1, tokens.refused[1])];
    const abandoning = [await connect(1, tokens.abandoning[0]), await connect(2, tokens.abandoning[1])];
    const fates: CallFate[] = [];

    // phase 0: two payments to a new payee wait for the human (holding their units), two are given up
    const held = refused.map((connection) =>
      callTool(connection, 'bank', 'get-sum', { a: ORDINARY.a, b: NEW_PAYEE }).then((fate) => {
        fates.push(fate);
      }),
    );
    const pending = await pendingNewPayees(deployment, refused.length);
    for (const connection of abandoning)
      fates.push(await abandonWhenHeld(connection, 'bank', 'get-sum', { a: ORDINARY.a, b: NEW_PAYEE }));

    // phase 1: every caller pays at once, while the human refuses the two held payments
    const refusing = approver.then((token) =>
      Promise.all(
        pending.map((id) =>
          operateAs(deployment, token, 'approvals', 'deny', id, '--reason', 'unknown payee'),
        ),
      ),
    );
    await Promise.all([
      ...callers.map(async (connection) => {
        for (let payment = 0; payment < PAYMENTS_PER_CALLER; payment++) {
          const args = payment === LARGE_AT ? { a: LARGE_PAYMENT, b: ORDINARY.b } : ORDINARY;
          fates.push(await callTool(connection, 'bank', 'get-sum', args));
        }
      }),
      refusing,
      ...held,
    ]);
    // every call of the run has its outcome on record (the given-up ones had no answer to wait for)
    await everyIntentHasItsOutcome(deployment);

    const probe = await probeRemaining(gateways, tokens.probe);
    const run = tally(fates);
    return { budget: BUDGET, ranInRun: run.ran ?? 0, run, ...probe };
  } finally {
    for (const connection of opened) await connection.close();
    for (const gateway of gateways) await gateway.stop();
  }
}

interface Tokens {
  readonly callers: string[];
  readonly refused: [string, string];
  readonly abandoning: [string, string];
  readonly probe: string;
}

/** One agent, `payer`; every caller is a Reins session of its own. */
async function credentials(deployment: StatefulDeployment): Promise<Tokens> {
  const identity = await openDeploymentIdentity(deployment);
  try {
    await identity.createAgent('payer');
    const issue = (session: string) => identity.credential('payer', session);
    const callers: string[] = [];
    for (let index = 0; index < PROCESSES * CALLERS_PER_PROCESS; index++)
      callers.push(await issue(`payer-caller-${index}`));
    return {
      callers,
      refused: [await issue('payer-refused-0'), await issue('payer-refused-1')],
      abandoning: [await issue('payer-abandoning-0'), await issue('payer-abandoning-1')],
      probe: await issue('payer-probe'),
    };
  } finally {
    await identity.close();
  }
}

/** Waits (with the CLI, as an approver would look) until `count` payments to the new payee wait. */
async function pendingNewPayees(deployment: StatefulDeployment, count: number): Promise<string[]> {
  return eventually(
    async () => {
      const pending = JSON.parse(
        await operateAs(deployment, '', 'approvals', 'list', '--format', 'json'),
      ) as { id: string; args: { b?: unknown } }[];
      const ids = pending.filter((request) => request.args.b === NEW_PAYEE).map((request) => request.id);
      expect(ids).toHaveLength(count);
      return ids;
    },
    { timeoutMs: 30_000, intervalMs: 200, what: `${count} payments to a new payee waiting for approval` },
  );
}

/** Waits until the audit log holds an outcome for every intent of the run. */
async function everyIntentHasItsOutcome(deployment: StatefulDeployment): Promise<void> {
  await eventually(
    async () => {
      const lines = (
        await operateAs(
          deployment,
          '',
          'audit',
          'query',
          '--agent',
          'payer',
          '--format',
          'json',
          '--limit',
          '10000',
        )
      )
        .split('\n')
        .filter((line) => line.trim() !== '');
      const kinds = lines.map((line) => (JSON.parse(line) as { event: { kind: string } }).event.kind);
      const intents = kinds.filter((kind) => kind === 'call-intent').length;
      expect(kinds.filter((kind) => kind === 'call-outcome').length).toBe(intents);
    },
    { timeoutMs: 30_000, intervalMs: 200, what: 'an outcome on record for every call of the run' },
  );
}

/** Pays one at a time, through each process in turn, until something refuses; what ran and what stopped it. */
async function probeRemaining(
  gateways: readonly SpawnedGateway[],
  token: string,
): Promise<{ probeRan: number; probeEndedBy: string }> {
  const connections: AgentConnection[] = [];
  try {
    for (const gateway of gateways) {
      const connection = await connectAgent(gateway.endpoint, token);
      connections.push(connection);
      expect(fateName(await callTool(connection, 'crm', 'echo', { message: 'look up INV-2' }))).toBe('ran');
    }
    let probeRan = 0;
    // one more than the whole budget: a probe that never stops is a failure too
    for (let attempt = 0; attempt <= BUDGET; attempt++) {
      const fate = await callTool(
        connections[attempt % connections.length] as AgentConnection,
        'bank',
        'get-sum',
        ORDINARY,
      );
      if (fate.kind !== 'ran') return { probeRan, probeEndedBy: fateName(fate) };
      probeRan++;
    }
    return { probeRan, probeEndedBy: 'nothing: the budget never ran out' };
  } finally {
    for (const connection of connections) await connection.close();
  }
}
