/**
 * @module examples/demo/leaky-context-scenario
 * Scenario 4, "leaky context": a proposal-writing agent works for a consultancy with several clients.
 * Asked for a proposal to Globex, it also pulls up the file of another client, Acme, "for reference",
 * and its draft quotes Acme's negotiated day rate and discount. Without Reins the proposal goes out and
 * Globex learns what Acme pays. With Reins (examples/demo/leaky-context.yaml) every client file is
 * labelled with its client (tenant); the values in it are tracked, and the tenant flow rule refuses
 * a message to Globex that carries Acme's figures, naming the call whose output they came from.
 */
import { Harness, type Principal, type ToolExecutor, type ToolRef } from 'reins';
import { directInvoker, governedInvoker, type InvokeTool } from './agent-invokers.js';
import { printAuditTrail } from './audit-trail.js';
import { banner, section, shortHash, truncate, wrap, writeAll } from './demo-output.js';
import { loadDemoPolicy } from './demo-policy.js';
import {
  check,
  type DemoCheck,
  type GovernedCall,
  type ScenarioAudit,
  type ScenarioContext,
} from './demo-scenario.js';
import { demoSession } from './demo-sessions.js';

const PRINCIPAL: Principal = {
  agentId: 'proposal-writer',
  roles: ['sales'],
  owner: 'sam@example.com',
  delegatedBy: [],
  parentSessions: [],
};
const GET_FILE: ToolRef = { server: 'crm', name: 'clients.get_file' };
const SEND: ToolRef = { server: 'mail', name: 'proposals.send' };
const TOOL_WIDTH = 22;

interface ClientFile {
  readonly client: string;
  readonly contact: string;
  readonly needs: string;
  readonly dayRate: string;
  readonly discount: string;
}

/** The consultancy's CRM: each file is one client's confidential data. */
const CLIENT_FILES: Readonly<Record<string, ClientFile>> = {
  acme: {
    client: 'acme',
    contact: 'procurement@acme.example',
    needs: 'data platform migration, 6 months',
    dayRate: 'EUR 1,380',
    discount: '17.5%',
  },
  globex: {
    client: 'globex',
    contact: 'cto-office@globex.example',
    needs: 'security review of the payments stack',
    dayRate: 'EUR 1,650 (list price)',
    discount: 'none agreed yet',
  },
};

interface SentProposal {
  readonly client: string;
  readonly to: string;
  readonly body: string;
}

function consultancyTools(outbox: SentProposal[]): Record<string, ToolExecutor> {
  return {
    'clients.get_file': async (args) => {
      const file = CLIENT_FILES[String(args.client)];
      if (file === undefined) throw new Error(`no client file \`${String(args.client)}\``);
      return file;
    },
    'proposals.send': async (args) => {
      outbox.push({ client: String(args.client), to: String(args.to), body: String(args.body) });
      return { sent: true };
    },
  };
}

/**
 * The agent, scripted: it reads the client's file, also reads a comparable client's file to "anchor"
 * the price, and drafts a proposal that quotes the other client's terms. Identical with and without Reins.
 */
async function writeProposal(invoke: InvokeTool): Promise<void> {
  const own = await invoke({
    label: "reads Globex's file (the client the proposal is for)",
    tool: GET_FILE,
    args: { client: 'globex' },
    describe: (output) => `contact ${(output as ClientFile).contact}`,
  });
  const reference = await invoke({
    label: 'reads Acme\'s file "for reference" (another client)',
    tool: GET_FILE,
    args: { client: 'acme' },
    describe: (output) =>
      `day rate ${(output as ClientFile).dayRate}, discount ${(output as ClientFile).discount}`,
  });
  if (!own.ran || !reference.ran) return;
  const globex = own.output as ClientFile;
  const acme = reference.output as ClientFile;
  const body =
    `Dear Globex team, thank you for the call about the ${globex.needs}. ` +
    `For a comparable engagement we work at ${acme.dayRate} per day with a ${acme.discount} volume discount, ` +
    'and we would offer you the same terms.';
  await invoke({
    label: 'sends the proposal to Globex',
    tool: SEND,
    args: { client: 'globex', to: globex.contact, body },
    describe: () => 'proposal sent',
  });
}

export interface LeakyContextResult {
  readonly withoutReins: { readonly sent: readonly SentProposal[] };
  readonly withReins: { readonly sent: readonly SentProposal[]; readonly calls: readonly GovernedCall[] };
  readonly audit: ScenarioAudit;
  readonly checks: readonly DemoCheck[];
}

export async function runLeakyContextScenario(context: ScenarioContext): Promise<LeakyContextResult> {
  const { write } = context;
  const { policy, displayPath } = loadDemoPolicy('leaky-context.yaml', context.policyDirectory);
  writeAll(write, banner('Scenario 4: leaky context'));
  write(
    `A proposal writer (agent ${PRINCIPAL.agentId}) drafts a proposal for Globex. To "anchor" the price it`,
  );
  write("also opens Acme's file, and its draft quotes Acme's negotiated day rate and discount.");

  writeAll(write, section('Without Reins: the agent calls its tools directly'));
  const bareOutbox: SentProposal[] = [];
  await writeProposal(
    directInvoker({
      principal: PRINCIPAL,
      tools: consultancyTools(bareOutbox),
      write,
      toolWidth: TOOL_WIDTH,
    }),
  );
  for (const sent of bareOutbox) {
    write(`  sent to ${sent.to}:`);
    for (const line of wrap(`"${sent.body}"`, 90)) write(`    ${line}`);
  }
  if (bareOutbox.some((sent) => leaksAcme(sent)))
    write("  => Globex now knows what Acme pays, and Acme's discount");

  writeAll(write, section('With Reins: the same agent, every call through Harness.call'));
  write(`  policy ${displayPath} (sha256:${shortHash(policy.hash)}), session proposal-globex`);
  const outbox: SentProposal[] = [];
  const calls: GovernedCall[] = [];
  const harness = new Harness({ policy: { current: policy }, audit: context.audit });
  await writeProposal(
    governedInvoker({
      principal: PRINCIPAL,
      tools: consultancyTools(outbox),
      write,
      toolWidth: TOOL_WIDTH,
      harness,
      calls,
      sessionId: demoSession('proposal-globex'),
    }),
  );
  write(`  session labels: ${(await harness.dataflow(demoSession('proposal-globex'))).labels.join(', ')}`);
  write(
    `  proposals sent: ${outbox.length === 0 ? 'none' : outbox.map((sent) => truncate(sent.body, 60)).join(' | ')}`,
  );

  const audit = await printAuditTrail(context, new Set(calls.map((call) => call.decisionId)));
  const result = { withoutReins: { sent: bareOutbox }, withReins: { sent: outbox, calls }, audit };
  return { ...result, checks: leakyContextChecks(result) };
}

function leaksAcme(sent: SentProposal): boolean {
  const acme = CLIENT_FILES.acme as ClientFile;
  return sent.client !== 'acme' && (sent.body.includes(acme.dayRate) || sent.body.includes(acme.discount));
}

/** The expectations, computed from what was sent and decided, not from printed text. */
function leakyContextChecks(result: Omit<LeakyContextResult, 'checks'>): DemoCheck[] {
  const { withoutReins, withReins, audit } = result;
  const acmeRead = withReins.calls.find((call, index) => call.tool === 'crm/clients.get_file' && index === 1);
  const send = withReins.calls.find((call) => call.tool === 'mail/proposals.send');
  return [
    check(
      "scenario 4 without Reins: the proposal to Globex carried Acme's fees",
      withoutReins.sent.length === 1 && withoutReins.sent.every(leaksAcme),
    ),
    check(
      'scenario 4 with Reins: both client files could be read',
      withReins.calls.filter((call) => call.tool === 'crm/clients.get_file' && call.effect === 'allow')
        .length === 2,
    ),
    check(
      "scenario 4 with Reins: the proposal was denied by the tenant rule, naming the call that read Acme's file",
      send?.effect === 'deny' &&
        send.outcome === 'denied' &&
        send.matchedRules.includes('client-data-stays-with-its-client') &&
        acmeRead !== undefined &&
        send.reasons.some((reason) => reason.includes(acmeRead.decisionId) && reason.includes('acme')),
    ),
    check('scenario 4 with Reins: nothing reached Globex', withReins.sent.length === 0),
    check(
      'scenario 4 with Reins: every call has an intent and an outcome record, and the chain verifies',
      audit.completeCalls === withReins.calls.length &&
        audit.records === 2 * withReins.calls.length &&
        audit.chain.ok,
    ),
  ];
}
