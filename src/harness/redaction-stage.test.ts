/**
 * @module harness/redaction-stage.test
 * Redaction in the pipeline, with the real SQLite audit log: results are redacted before the caller
 * sees them, arguments are blocked, held or redacted at decision time, and neither the audit log nor the
 * refusal ever holds the raw secret. Unit level: the tool is a function; the gateway tests run real
 * MCP servers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { policyFrom } from '../../test/support/policy-fixtures.js';
import { SqliteAuditLog } from '../store/sqlite/sqlite-audit-log.js';
import { Harness } from './harness.js';
import type { ApprovalHandler, CallRequest } from './types.js';

const KEY = 'AKIAIOSFODNN7EXAMPLE';

const POLICY = policyFrom(`
rules:
  - { id: everything, effect: allow, reason: this test is about redaction }
redaction:
  outputs: { secret: redact, pii: allow, iban: block }
  inputs: { secret: block }
  tools:
    - tool: { server: crm, name: db.execute }
      inputs: { secret: redact }
    - tool: { server: pay }
      inputs: { secret: hold, email: redact }
`);

const logs: SqliteAuditLog[] = [];
afterEach(async () => {
  for (const log of logs.splice(0)) await log.close();
});

function setup(approvals?: ApprovalHandler) {
  const audit = new SqliteAuditLog({ path: ':memory:' });
  logs.push(audit);
  const harness = new Harness({ policy: { current: POLICY }, audit, ...(approvals ? { approvals } : {}) });
  return { harness, audit };
}

function request(server: string, name: string, args: Record<string, unknown>): CallRequest {
  return { principal: { agentId: 'agent-a' }, sessionId: 's1', tool: { server, name }, args };
}

async function auditText(audit: SqliteAuditLog): Promise<string> {
  return JSON.stringify(await audit.query({}));
}

describe('redaction in the harness', () => {
  it('redacts secrets in a result before the caller sees it, and records only the redacted result', async () => {
    const { harness, audit } = setup();
    const result = await harness.call(request('crm', 'db.select', {}), async () => ({
      content: [{ type: 'text', text: `deploy with ${KEY}, ask ops@example.com` }],
    }));
    expect(result.status).toBe('ok');
    if (result.status !== 'ok') return;
    expect(result.output).toEqual({
      content: [{ type: 'text', text: 'deploy with [REDACTED:aws_access_key], ask ops@example.com' }],
    });
    expect(await auditText(audit)).not.toContain(KEY);
  });

  it('withholds a result holding a blocked kind of data', async () => {
    const { harness } = setup();
    const result = await harness.call(
      request('crm', 'db.select', {}),
      async () => 'IBAN DE89 3704 0044 0532 0130 00',
    );
    expect(result.status).toBe('error');
    if (result.status !== 'error') return;
    expect(result.error).toMatch(/output withheld: .*iban at `\(value\)`/);
    expect(result.error).not.toContain('DE89');
  });

  it('redacts the message of a failing tool before the caller sees it or it is recorded', async () => {
    const { harness, audit } = setup();
    const result = await harness.call(request('crm', 'db.select', {}), async () => {
      throw new Error(`cannot reach postgres://admin:S3cretPassw0rd@db.internal/prod with ${KEY}`);
    });
    expect(result).toMatchObject({
      status: 'error',
      error:
        'tool failed: cannot reach postgres://admin:[REDACTED:connection_string_password]@db.internal/prod with [REDACTED:aws_access_key]',
    });
    const text = await auditText(audit);
    expect(text).not.toContain(KEY);
    expect(text).not.toContain('S3cretPassw0rd');
  });

  it('withholds the message of a failing tool holding a blocked kind of data', async () => {
    const { harness, audit } = setup();
    const result = await harness.call(request('crm', 'db.select', {}), async () => {
      throw new Error('account DE89 3704 0044 0532 0130 00 is frozen');
    });
    expect(result).toMatchObject({
      status: 'error',
      error:
        'tool failed: error message withheld: it contains iban at `(value)`, which the redaction policy blocks',
    });
    expect(await auditText(audit)).not.toContain('DE89');
  });

  it('blocks a call whose arguments carry a secret, naming the detector, never the value', async () => {
    const { harness, audit } = setup();
    let ran = false;
    const result = await harness.call(request('crm', 'db.select', { note: `key ${KEY}` }), async () => {
      ran = true;
    });
    expect(ran).toBe(false);
    expect(result.status).toBe('denied');
    if (result.status !== 'denied') return;
    expect(result.reason).toBe(
      'argument `note` contains aws_access_key (secret): blocked by the redaction policy',
    );
    const text = await auditText(audit);
    expect(text).not.toContain(KEY);
    expect(text).toContain('[REDACTED:aws_access_key]');
    expect(text).toContain('sensitive_input');
  });

  it('runs the tool with redacted arguments where the policy says redact, and records that', async () => {
    const { harness, audit } = setup();
    let received: unknown;
    const result = await harness.call(
      request('crm', 'db.execute', { sql: "update t set k = 'AKIAIOSFODNN7EXAMPLE'" }),
      async (args) => {
        received = args;
        return 'ok';
      },
    );
    expect(result.status).toBe('ok');
    expect(received).toEqual({ sql: "update t set k = '[REDACTED:aws_access_key]'" });
    const [intent] = await audit.query({ kind: 'call-intent' });
    expect(intent?.event.kind === 'call-intent' && intent.event.decision.diagnostics).toContainEqual({
      code: 'input_redacted',
      message: 'argument `sql` contains aws_access_key (secret): redacted before the call',
    });
    expect(await auditText(audit)).not.toContain(KEY);
  });

  it('holds a call for review; approvers see placeholders, an approved call runs with the original', async () => {
    const seen: unknown[] = [];
    const { harness, audit } = setup(async (approval) => {
      seen.push(approval.call.args);
      return { approved: true, by: 'sec@example.com' };
    });
    let received: unknown;
    const result = await harness.call(
      request('pay', 'payments.send', { memo: `token ${KEY}`, to: 'bob@example.com' }),
      async (args) => {
        received = args;
        return 'sent';
      },
    );
    expect(result.status).toBe('ok');
    expect(result.decision.effect).toBe('approve');
    expect(seen).toEqual([{ memo: 'token [REDACTED:aws_access_key]', to: '[REDACTED:email]' }]);
    expect(received).toEqual({ memo: `token ${KEY}`, to: 'bob@example.com' });
    expect(await auditText(audit)).not.toContain(KEY);
  });

  it('without an approver a held call is refused', async () => {
    const { harness } = setup();
    const result = await harness.call(request('pay', 'payments.send', { memo: KEY }), async () => 'sent');
    expect(result.status).toBe('denied');
  });

  it('fails closed when the arguments cannot be screened, and records no raw arguments', async () => {
    const { harness, audit } = setup();
    let deep: unknown = KEY;
    for (let level = 0; level < 300; level++) deep = { next: deep };
    const result = await harness.call(request('crm', 'db.select', { deep }), async () => 'ran');
    expect(result.status).toBe('denied');
    if (result.status === 'denied') expect(result.reason).toMatch(/could not be screened/);
    expect(await auditText(audit)).not.toContain(KEY);
  });

  it('leaves calls alone when the policy has no redaction section', async () => {
    const audit = new SqliteAuditLog({ path: ':memory:' });
    logs.push(audit);
    const plain = policyFrom('rules:\n  - { id: all, effect: allow, reason: all }');
    const harness = new Harness({ policy: { current: plain }, audit });
    const result = await harness.call(request('crm', 'db.select', { note: KEY }), async (args) => args);
    expect(result.status === 'ok' && result.output).toEqual({ note: KEY });
  });
});
