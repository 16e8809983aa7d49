/**
 * @module test/support/held-call-gateway
 * A `reins gateway` for the tests of held calls: its policy holds every `write` of a counting upstream
 * (which records each execution in a file) for approval and lets `read` through; the store has an
 * admin and an approver. `useHeldCallGateway` runs one for a test file and gives what those tests share:
 * the store, agents with credentials, and the checks that a held call was abandoned.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, expect } from 'vitest';
import { type Execution, ExecutionLog } from './counting-tools.js';
import { eventually, present } from './eventually.js';
import { type RunningGateway, startHttpGateway } from './http-gateway.js';
import { type CliRun, createOperators, reins, runReinsAs } from './reins-cli.js';
import { issueCredential } from './test-keys.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
/** The counting upstream: `<executions file> <label>` as its arguments. */
export const COUNTING_SERVER = join(ROOT, 'test/support/counting-server.ts');

/** One line of `reins audit query --format json`. */
export interface AuditLine {
  seq: number;
  event: { kind: string; decisionId: string; outcome?: string; action?: string; error?: string };
}

export interface HeldCallGateway {
  readonly directory: string;
  readonly db: string;
  /** The counting upstream's record of what it ran. */
  readonly executions: string;
  readonly operators: { admin: string; approver: string };
  readonly gateway: RunningGateway;
  /** Registers an agent allowed every tool of the counting upstream. */
  createAgent(id: string): void;
  tokenFor(agent: string): Promise<string>;
  /** `reins <args>` on the store, as no operator; throws with its error output if it fails. */
  reins(...args: string[]): string;
  /** The approver votes to approve, from a separate CLI process. */
  approve(decisionId: string, reason: string): CliRun;
  /** Every record about one agent, in chain order. */
  auditOf(agent: string): AuditLine[];
  /** The agent's held call (not one of `seen`), once its approval request is stored. */
  waitForHeld(agent: string, seen?: readonly string[]): Promise<string>;
  /** The outcome recorded for a call, once there is one. */
  waitForOutcome(agent: string, decisionId: string): Promise<AuditLine>;
  /**
   * After the waiting client is gone: abandoned on record, the request closed, a late vote refused,
   * none of the executions `ranIt` picks out, and the audit chain intact.
   */
  expectAbandoned(agent: string, decisionId: string, ranIt: (run: Execution) => boolean): Promise<void>;
  /** Stops the gateway (resolves with its exit code) and removes the directory. */
  close(): Promise<number | null | undefined>;
}

/** What a test file reads: the gateway, and the clients and processes to end after its tests. */
export interface HeldCallFixture extends HeldCallGateway {
  readonly clients: Client[];
  readonly processes: ChildProcess[];
}

/**
 * Starts the gateway before the file's tests (directory named `prefix…`); after them kills the
 * `processes`, closes the `clients` and expects the gateway to stop with exit code 0. The fixture is
 * filled in when the gateway has started: read it inside tests, not at the top of the file.
 */
export function useHeldCallGateway(prefix: string): HeldCallFixture {
  const fixture = { clients: [], processes: [] } as unknown as HeldCallFixture;
  let started: HeldCallGateway | undefined;
  beforeAll(async () => {
    started = await startHeldCallGateway(prefix);
    Object.assign(fixture, started);
  }, 60_000);
  afterAll(async () => {
    for (const child of fixture.processes) child.kill('SIGKILL');
    for (const client of fixture.clients) await client.close().catch(() => {});
    expect(await started?.close()).toBe(0);
  });
  return fixture;
}

async function startHeldCallGateway(prefix: string): Promise<HeldCallGateway> {
  const directory = mkdtempSync(join(tmpdir(), prefix));
  const db = join(directory, 'reins.db');
  const executions = join(directory, 'executions.jsonl');
  const operators = createOperators(db, directory);
  writeConfiguration(directory, executions);
  const gateway = await startHttpGateway(join(directory, 'reins.yaml'));
  const cli = (...args: string[]) => reins(db, directory, ...args);
  const approve = (decisionId: string, reason: string) =>
    runReinsAs(operators.approver, db, directory, 'approvals', 'approve', decisionId, '--reason', reason);
  return {
    directory,
    db,
    executions,
    operators,
    gateway,
    createAgent: (id) => {
      cli('agents', 'create', id, '--owner', 'olivia@example.com', '--scopes', 'counting/*');
    },
    tokenFor: (agent) => issueCredential(directory, db, agent),
    reins: cli,
    approve,
    ...abandonment({ executions, gateway, reins: cli, approve }),
    async close() {
      const code = await gateway.stop();
      rmSync(directory, { recursive: true, force: true });
      return code;
    },
  };
}

function writeConfiguration(directory: string, executions: string): void {
  writeFileSync(
    join(directory, 'policy.yaml'),
    `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: held-writes }
tools:
  - { server: counting, name: "*", risk: high, effects: [external] }
rules:
  - { id: writes-need-a-human, effect: approve, tool: { name: write }, reason: every write is reviewed }
  - { id: reads-are-fine, effect: allow, tool: { name: read }, reason: reading is harmless }
`,
  );
  writeFileSync(
    join(directory, 'reins.yaml'),
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: reins.db }
upstreams:
  - name: counting
    stdio:
      command: ${JSON.stringify(process.execPath)}
      args: [--import, tsx, ${JSON.stringify(COUNTING_SERVER)}, ${JSON.stringify(executions)}, http]
      cwd: ${JSON.stringify(ROOT)}
listen: { host: 127.0.0.1, port: 0, path: /mcp }
limits: { callTimeout: 20s, approvalTimeout: 60s }
`,
  );
}

type Basics = Pick<HeldCallGateway, 'executions' | 'gateway' | 'reins' | 'approve'>;
type Abandonment = Pick<HeldCallGateway, 'auditOf' | 'waitForHeld' | 'waitForOutcome' | 'expectAbandoned'>;

/** What waits for, and checks, a held call on the gateway's store. */
function abandonment({ executions, gateway, reins: cli, approve }: Basics): Abandonment {
  const auditOf = (agent: string) =>
    cli('audit', 'query', '--agent', agent, '--format', 'json')
      .trim()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as AuditLine);
  const waitForOutcome = (agent: string, decisionId: string) =>
    eventually(
      () =>
        present(
          auditOf(agent).find(
            (line) => line.event.kind === 'call-outcome' && line.event.decisionId === decisionId,
          ),
          () =>
            `${JSON.stringify(auditOf(agent))} ${gateway.log.join('\n')} ${cli('approvals', 'list', '--status', 'cancelled', '--format', 'json')}`,
        ),
      { timeoutMs: 20_000, intervalMs: 100, what: `an outcome recorded for ${decisionId}` },
    );
  return {
    auditOf,
    waitForOutcome,
    waitForHeld: (agent, seen = []) =>
      eventually(
        () => {
          const pending = JSON.parse(cli('approvals', 'list', '--format', 'json')) as {
            id: string;
            agentId: string;
          }[];
          return present(
            pending.find((request) => request.agentId === agent && !seen.includes(request.id))?.id,
            `pending: ${JSON.stringify(pending)}`,
          );
        },
        { timeoutMs: 20_000, intervalMs: 100, what: `a held call of ${agent}` },
      ),
    async expectAbandoned(agent, decisionId, ranIt) {
      const outcome = await waitForOutcome(agent, decisionId);
      expect(outcome.event.outcome).toBe('abandoned');
      expect(JSON.parse(cli('approvals', 'show', decisionId, '--format', 'json')).status).toBe('cancelled');
      const vote = approve(decisionId, 'late');
      expect(vote.status).not.toBe(0);
      expect(vote.stderr).toMatch(/not pending|cancelled/);
      // give a wrongly released call every chance to run before looking
      await new Promise((done) => setTimeout(done, 1_500));
      expect(new ExecutionLog(executions).newSince().filter(ranIt)).toEqual([]);
      expect(cli('audit', 'verify')).toMatch(/verified|ok/i);
    },
  };
}
