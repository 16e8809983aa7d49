/**
 * @module examples/demo/memory-scenario
 * Scenario 3, "the memory that would not forget": Ana pastes a production AWS key into a chat and her
 * assistant saves it in the team's shared memory with the deploy notes. Three weeks later Carl's
 * assistant, and a contractor's assistant working for another company on the same memory service, ask
 * memory for deploy help, and are offered the key. With Reins (examples/demo/team-memory.yaml) the key
 * is replaced by a placeholder before it is stored, Carl gets the notes without it, and the contractor,
 * in another tenant, gets nothing.
 */
import {
  Harness,
  InMemoryLabelIndex,
  MemoryGuard,
  type Principal,
  type ToolExecutor,
  type ToolRef,
} from 'reins';
import { directInvoker, governedInvoker, type InvokeTool } from './agent-invokers.js';
import { printAuditTrail } from './audit-trail.js';
import { banner, plural, section, shortHash, writeAll } from './demo-output.js';
import { loadDemoPolicy } from './demo-policy.js';
import {
  check,
  type DemoCheck,
  type GovernedCall,
  type ScenarioAudit,
  type ScenarioContext,
} from './demo-scenario.js';
import { demoSession } from './demo-sessions.js';
import { observationsIn, TeamMemory } from './team-memory.js';

/** The AWS documentation's example key pair: the shape of a real one, valid nowhere. */
const ACCESS_KEY = 'AKIAIOSFODNN7EXAMPLE';
const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const DAY = 86_400_000;
const START = Date.parse('2026-03-02T10:00:00Z');
const WEEKS_LATER = 23 * DAY;
const TOOL_WIDTH = 22;

const ANA: Principal = {
  agentId: 'ana-assistant',
  roles: ['coding-assistant', 'tenant:acme'],
  owner: 'ana@acme.example',
  delegatedBy: [],
  parentSessions: [],
};
const CARL: Principal = {
  agentId: 'carl-assistant',
  roles: ['coding-assistant', 'tenant:acme'],
  owner: 'carl@acme.example',
  delegatedBy: [],
  parentSessions: [],
};
const CONTRACTOR: Principal = {
  agentId: 'vendor-assistant',
  roles: ['coding-assistant', 'tenant:vendor-co'],
  owner: 'vic@vendor.example',
  delegatedBy: [],
  parentSessions: [],
};
const CREATE: ToolRef = { server: 'memory', name: 'create_entities' };
const SEARCH: ToolRef = { server: 'memory', name: 'search_nodes' };

export interface MemoryRun {
  /** Whether the memory store itself holds the key after the run. */
  readonly storeHoldsKey: boolean;
  /** What memory offered Carl's and the contractor's assistants. */
  readonly carlSaw: readonly string[];
  readonly contractorSaw: readonly string[];
}

export interface MemoryScenarioResult {
  readonly withoutReins: MemoryRun;
  readonly withReins: MemoryRun & {
    readonly calls: readonly GovernedCall[];
    readonly auditHoldsKey: boolean;
  };
  readonly audit: ScenarioAudit;
  readonly checks: readonly DemoCheck[];
}

const holdsKey = (texts: readonly string[]) =>
  texts.some((text) => text.includes(ACCESS_KEY) || text.includes(SECRET_KEY));

/** The assistants' behaviour, scripted; the same with and without Reins. */
async function story(
  invoke: (principal: Principal) => InvokeTool,
  advanceClock: () => void,
  write: (line: string) => void,
): Promise<Pick<MemoryRun, 'carlSaw' | 'contractorSaw'>> {
  write('  day 0: Ana pastes the production key into a chat; her assistant saves the deploy notes');
  await invoke(ANA)({
    tool: CREATE,
    args: {
      entities: [
        {
          name: 'prod-deploy',
          entityType: 'runbook',
          observations: [
            'deploy with ./deploy.sh from the release branch',
            `ana's prod credentials: AWS_ACCESS_KEY_ID=${ACCESS_KEY} AWS_SECRET_ACCESS_KEY=${SECRET_KEY}`,
          ],
        },
      ],
    },
    describe: () => 'saved "prod-deploy"',
  });
  advanceClock();
  write('  day 23: Carl asks his assistant how to deploy; it searches memory');
  const carl = await invoke(CARL)({ tool: SEARCH, args: { query: 'deploy' }, describe: describeFound });
  write('  day 23: a contractor from another company, on the same memory service, asks the same');
  const contractor = await invoke(CONTRACTOR)({
    tool: SEARCH,
    args: { query: 'deploy' },
    describe: describeFound,
  });
  const carlSaw = carl.ran ? observationsIn(carl.output) : [];
  const contractorSaw = contractor.ran ? observationsIn(contractor.output) : [];
  for (const [who, saw] of [
    ['Carl', carlSaw],
    ['the contractor', contractorSaw],
  ] as const) {
    write(`  memory offered ${who}: ${saw.length === 0 ? '(nothing)' : ''}`);
    for (const text of saw) write(`    "${text}"`);
  }
  return { carlSaw, contractorSaw };
}

function describeFound(output: unknown): string {
  const found = observationsIn(output);
  return holdsKey(found)
    ? `found ${plural(found.length, 'note')}, the KEY among them`
    : `found ${plural(found.length, 'note')}`;
}

export async function runMemoryScenario(context: ScenarioContext): Promise<MemoryScenarioResult> {
  const { write } = context;
  const { policy, displayPath } = loadDemoPolicy('team-memory.yaml', context.policyDirectory);
  writeAll(write, banner('Scenario 3: the memory that would not forget'));
  write('Coding assistants share a knowledge-graph memory. A key pasted into one chat is saved with the');
  write('deploy notes, and memory offers it to whoever asks about deploying, weeks later.');

  writeAll(write, section('Without Reins: the assistants call the memory directly'));
  const bare = new TeamMemory();
  // the bare memory has no clock: time passing changes nothing for it
  const bareRun = await story(
    (principal) => directInvoker({ principal, tools: bare.tools(), write, toolWidth: TOOL_WIDTH }),
    () => {},
    write,
  );
  const withoutReins = { ...bareRun, storeHoldsKey: bare.dump().includes(ACCESS_KEY) };
  write(
    withoutReins.storeHoldsKey
      ? `  => the key sits in memory (since ${new Date(START).toISOString().slice(0, 10)}) and was handed to ${bareRun.contractorSaw.length > 0 ? 'another company' : 'a colleague'}`
      : '  => the key is not in memory',
  );

  writeAll(write, section('With Reins: the same assistants, every call through Harness.call'));
  write(
    `  policy ${displayPath} (sha256:${shortHash(policy.hash)}); the clock moves 23 days between write and read`,
  );
  const settings = policy.memory;
  if (settings === undefined) throw new Error(`${displayPath} has no \`memory:\` section`);
  const memory = new TeamMemory();
  let now = START;
  const clock = () => now;
  const guard = new MemoryGuard(new InMemoryLabelIndex(), clock);
  const harness = new Harness({ policy: { current: policy }, audit: context.audit, clock });
  const calls: GovernedCall[] = [];
  const guarded = (principal: Principal): Record<string, ToolExecutor> =>
    Object.fromEntries(
      ['create_entities', 'search_nodes'].map((name) => [
        name,
        (args: Record<string, unknown>) =>
          guard.call(principal, settings, name, args, (tool, toolArgs) => memory.call(tool, toolArgs)),
      ]),
    );
  const governedRun = await story(
    (principal) =>
      governedInvoker({
        principal,
        tools: guarded(principal),
        write,
        toolWidth: TOOL_WIDTH,
        harness,
        sessionId: demoSession(`memory-${principal.agentId}`),
        calls,
      }),
    () => {
      now += WEEKS_LATER;
    },
    write,
  );
  const storeHoldsKey = memory.dump().includes(ACCESS_KEY) || memory.dump().includes(SECRET_KEY);
  write(
    storeHoldsKey
      ? '  => the key is in memory'
      : '  => memory holds the notes with [REDACTED:…] placeholders; the key never reached it, and acme notes stay in acme',
  );

  const audit = await printAuditTrail(context, new Set(calls.map((call) => call.decisionId)));
  let auditHoldsKey = false;
  for await (const record of context.audit.records({ afterSeq: context.auditHeadSeq })) {
    if (record.body.includes(ACCESS_KEY) || record.body.includes(SECRET_KEY)) auditHoldsKey = true;
  }
  write(
    `  the audit records of this scenario ${auditHoldsKey ? 'CONTAIN the key' : 'hold the placeholders, never the key'}`,
  );
  const withReins = { ...governedRun, storeHoldsKey, calls, auditHoldsKey };
  return { withoutReins, withReins, audit, checks: memoryChecks(withoutReins, withReins, audit) };
}

function memoryChecks(
  withoutReins: MemoryRun,
  withReins: MemoryScenarioResult['withReins'],
  audit: ScenarioAudit,
): DemoCheck[] {
  const write = withReins.calls.find((call) => call.tool === 'memory/create_entities');
  return [
    check('scenario 3 without Reins: the key was stored in memory', withoutReins.storeHoldsKey),
    check('scenario 3 without Reins: memory offered the key to Carl', holdsKey(withoutReins.carlSaw)),
    check(
      'scenario 3 without Reins: memory offered the key to the other company',
      holdsKey(withoutReins.contractorSaw),
    ),
    check(
      'scenario 3 with Reins: the note was saved, with the key redacted before it was stored',
      write?.effect === 'allow' && write.outcome === 'ok' && !withReins.storeHoldsKey,
    ),
    check(
      'scenario 3 with Reins: Carl got the deploy notes, the key replaced by placeholders',
      withReins.carlSaw.length === 2 &&
        !holdsKey(withReins.carlSaw) &&
        withReins.carlSaw.some((text) => text.includes('[REDACTED:aws_access_key]')),
    ),
    check(
      'scenario 3 with Reins: the other company got nothing from acme',
      withReins.contractorSaw.length === 0,
    ),
    check('scenario 3 with Reins: no audit record holds the key', !withReins.auditHoldsKey),
    check(
      'scenario 3 with Reins: every call has an intent and an outcome record, and the chain verifies',
      audit.completeCalls === withReins.calls.length &&
        audit.records === 2 * withReins.calls.length &&
        audit.chain.ok,
    ),
  ];
}
