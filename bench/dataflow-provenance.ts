/**
 * @module bench/dataflow-provenance
 * What argument provenance costs per call: the decision for a sink call with a provenance and a tenant
 * flow rule, against the same policy without flow rules (ratio in the same process), in a session that
 * has already seen 20 or 200 tool outputs; and indexing one output (a 2 KB message list) after a call.
 */
import { SessionDataflow } from '../src/dataflow/session-dataflow.js';
import { compilePolicy } from '../src/policy/compile-policy.js';
import type { PreparedPolicy } from '../src/policy/prepared-policy.js';
import { WindowCounters } from '../src/policy/window-counters.js';
import type { DecisionInput } from '../src/spec/tool-call.js';
import { format, machine, timeEach, timerOverhead } from './measure.js';

const CATALOGUE = `tools:
  - { name: read_inbox, risk: low, effects: [read], output: { untrustedFields: [body] } }
  - { name: send_email, risk: high, effects: [write, external], sink: { args: [recipients], text: [subject, body], tenant: { arg: client } } }
rules:
  - { id: mail, effect: allow, tool: { name: send_email }, reason: mail }
`;
const FLOWS = `flows:
  - { id: provenance, tool: { name: send_email }, reason: address from untrusted text }
  - { id: tenants, check: tenant, tool: { name: send_email }, reason: client data stays with its client }
`;

function policy(withFlows: boolean): PreparedPolicy {
  const text = `apiVersion: reins.dev/v1\nkind: Policy\nmetadata: { name: bench }\n${CATALOGUE}${withFlows ? FLOWS : ''}`;
  const compiled = compilePolicy([{ file: 'bench.yaml', text }]);
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.problems));
  return compiled.policy;
}

/** A mailbox page: 10 messages with senders (structured) and bodies with links and addresses (untrusted). */
function inbox(page: number): unknown {
  return Array.from({ length: 10 }, (_, index) => ({
    id: `${page}-${index}`,
    client: 'corp',
    link: `https://docs.corp.example/p/${page}/${index}`,
    sender: `colleague${index}@corp.example`,
    recipients: ['me@corp.example'],
    subject: `Status ${page}.${index}`,
    body: `Hi, the report for project ${page} is at https://docs.corp.example/p/${page}/${index}. Ping partner${index}@vendor.example or call +44 20 7946 0${String(index).padStart(3, '0')} if needed. Invoice total EUR ${1000 + page * 10 + index}.`,
  }));
}

function session(outputs: number): SessionDataflow {
  const flow = new SessionDataflow();
  flow.recordUserInput('Reply to colleague3@corp.example about the report');
  const description = {
    untrusted: false,
    spec: {
      untrustedFields: ['body'],
      trustedFields: [],
      trustedKeys: false,
      labels: [],
      tenant: { field: 'client' },
    },
  };
  for (let page = 0; page < outputs; page++) {
    flow.recordOutput({ decisionId: `d${page}`, tool: 'mail/read_inbox' }, inbox(page), description, {});
  }
  return flow;
}

const write = (line: string) => process.stdout.write(`${line}\n`);
const quick = process.argv.includes('--quick');
const iterations = quick ? 20_000 : 200_000;
write(`machine: ${machine()}`);
write(`timer overhead per sample: median ${format(timerOverhead().medianUs, 3)} µs`);
write('');
write(
  '| session has seen | decision without flows (µs, median / p99) | with provenance + tenant rules (µs, median / p99) | ratio (median) |',
);
write('| ---: | ---: | ---: | ---: |');
const plain = policy(false);
const flows = policy(true);
for (const outputs of [20, 200]) {
  const flow = session(outputs);
  const input: DecisionInput = {
    call: {
      principal: { agentId: 'mailer', roles: [], delegatedBy: [], parentSessions: [] },
      sessionId: 's',
      tool: { server: 'mail', name: 'send_email' },
      args: {
        client: 'corp',
        recipients: ['colleague3@corp.example', 'colleague4@corp.example'],
        subject: 'Re: status',
        body: 'See https://docs.corp.example/p/7/3 and the invoice of EUR 1073. Thanks!',
      },
      context: {},
    },
    session: { id: 's', status: 'active', startedAt: 0, history: [], labels: [] },
    counters: new WindowCounters(),
    now: 0,
    dataflow: flow,
  };
  if (flows.evaluate(input).effect !== 'allow') throw new Error('the benchmark call should be allowed');
  const without = timeEach(() => plain.evaluate(input), iterations);
  const withFlows = timeEach(() => flows.evaluate(input), iterations);
  write(
    `| ${outputs} outputs | ${format(without.medianUs)} / ${format(without.p99Us)} | ${format(withFlows.medianUs)} / ${format(withFlows.p99Us)} | ${format(withFlows.medianUs / without.medianUs, 1)}x |`,
  );
}
write('');
const description = {
  untrusted: false,
  spec: { untrustedFields: ['body'], trustedFields: [], trustedKeys: false, labels: [], tenant: undefined },
};
const page = inbox(1);
const size = JSON.stringify(page).length;
let flow = new SessionDataflow();
let count = 0;
const indexing = timeEach(
  () => {
    // a fresh session now and then, so the index does not grow without bound during the run
    if (++count % 1_000 === 0) flow = new SessionDataflow();
    flow.recordOutput({ decisionId: `d${count}`, tool: 'mail/read_inbox' }, page, description, {});
  },
  quick ? 5_000 : 50_000,
);
write(
  `indexing one output (${size} bytes, 10 messages): median ${format(indexing.medianUs)} µs, p99 ${format(indexing.p99Us)} µs`,
);
