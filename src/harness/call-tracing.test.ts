/**
 * @module harness/call-tracing.test
 * The spans of a call through the pipeline: one root span under the caller's trace context, a child per
 * stage that ran, the attributes that say who called what and what came of it, and never an argument
 * value. Without a tracer the harness traces nothing, even with a tracer provider registered globally.
 */
import { ROOT_CONTEXT, type SpanContext, TraceFlags, trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { policyFrom } from '../../test/support/policy-fixtures.js';
import { SqliteAuditLog } from '../store/sqlite/sqlite-audit-log.js';
import { Harness } from './harness.js';
import type { CallRequest } from './types.js';

const POLICY = policyFrom(`
rules:
  - { id: reads, effect: allow, tool: { effects: read }, reason: reads are fine }
`);

const SECRET = 'sk-live-4242-never-in-a-span';
const CLIENT: SpanContext = {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: TraceFlags.SAMPLED,
  isRemote: true,
};
const clientContext = trace.setSpanContext(ROOT_CONTEXT, CLIENT);

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

function traced(): { harness: Harness; spans: () => ReadableSpan[] } {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const audit = new SqliteAuditLog({ path: ':memory:' });
  closers.push(
    () => audit.close(),
    () => provider.shutdown(),
  );
  const harness = new Harness({ policy: { current: POLICY }, audit, tracer: provider.getTracer('reins') });
  return { harness, spans: () => exporter.getFinishedSpans() };
}

const lookup = (name = 'db.select'): CallRequest => ({
  principal: { agentId: 'agent-a' },
  sessionId: 's1',
  tool: { server: 'crm', name },
  args: { query: SECRET },
});

function named(spans: ReadableSpan[], name: string): ReadableSpan {
  const span = spans.find((each) => each.name === name);
  if (span === undefined) throw new Error(`no span ${name} in ${spans.map((each) => each.name).join(', ')}`);
  return span;
}

describe('call tracing', () => {
  it('traces an allowed call under the caller’s trace: a root span and a child per stage', async () => {
    const { harness, spans } = traced();
    const result = await harness.call(lookup(), async () => ({ rows: [SECRET] }), {
      traceContext: clientContext,
    });
    expect(result.status).toBe('ok');
    const all = spans();
    const root = named(all, 'reins.call');
    expect(root.spanContext().traceId).toBe(CLIENT.traceId);
    expect(root.parentSpanContext?.spanId).toBe(CLIENT.spanId);
    const stages = all.filter((span) => span !== root);
    expect(stages.map((span) => span.name)).toEqual([
      'reins.decide',
      'reins.record-intent',
      'reins.gate',
      'reins.execute',
      'reins.filter-output',
      'reins.record-outcome',
    ]);
    for (const stage of stages) {
      expect(stage.spanContext().traceId).toBe(CLIENT.traceId);
      expect(stage.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    }
    expect(root.attributes).toEqual({
      'reins.tool.server': 'crm',
      'reins.tool.name': 'db.select',
      'reins.session.id': 's1',
      'reins.agent.id': 'agent-a',
      'reins.decision.id': result.decisionId,
      'reins.decision.effect': 'allow',
      'reins.decision.decided_by': ['reads'],
      'reins.call.outcome': 'ok',
    });
    expect(JSON.stringify(all.map((span) => [span.attributes, span.events, span.status]))).not.toContain(
      SECRET,
    );
  });

  it('traces a denied call without an execute stage', async () => {
    const { harness, spans } = traced();
    let ran = false;
    const result = await harness.call(lookup('db.execute'), async () => {
      ran = true;
    });
    expect(result.status).toBe('denied');
    expect(ran).toBe(false);
    const all = spans();
    expect(all.map((span) => span.name)).toEqual([
      'reins.decide',
      'reins.record-intent',
      'reins.gate',
      'reins.record-outcome',
      'reins.call',
    ]);
    const root = named(all, 'reins.call');
    expect(root.attributes['reins.decision.effect']).toBe('deny');
    expect(root.attributes['reins.call.outcome']).toBe('denied');
  });

  it('marks a call whose tool failed as an error', async () => {
    const { harness, spans } = traced();
    const result = await harness.call(lookup(), async () => {
      throw new Error(`connection to ${SECRET} refused`);
    });
    expect(result.status).toBe('error');
    const root = named(spans(), 'reins.call');
    expect(root.status.code).toBe(2); // SpanStatusCode.ERROR
    expect(root.attributes['reins.call.outcome']).toBe('error');
    expect(JSON.stringify(spans().map((span) => [span.attributes, span.status]))).not.toContain(SECRET);
  });

  it('traces a call whose tool the caller runs: open, then complete', async () => {
    const { harness, spans } = traced();
    const opened = await harness.open(lookup(), 'call-1');
    expect(opened.ok && opened.state.status).toBe('ready');
    const id = opened.ok ? opened.state.id : '';
    const caller = { principal: { agentId: 'agent-a', delegatedBy: [], roles: [] }, sessionId: 's1' };
    const completed = await harness.complete(caller as never, id, { ok: true, result: { rows: [] } });
    expect(completed.ok && completed.state.status).toBe('completed');
    const names = spans().map((span) => span.name);
    expect(names).toEqual([
      'reins.decide',
      'reins.record-intent',
      'reins.gate',
      'reins.open',
      'reins.filter-output',
      'reins.record-outcome',
      'reins.complete',
    ]);
    expect(named(spans(), 'reins.open').attributes['reins.decision.id']).toBe(id);
    expect(named(spans(), 'reins.complete').attributes['reins.call.outcome']).toBe('ok');
  });

  it('creates no span without a tracer, even with a tracer provider registered globally', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    expect(trace.setGlobalTracerProvider(provider)).toBe(true);
    closers.push(async () => {
      trace.disable();
      await provider.shutdown();
    });
    const audit = new SqliteAuditLog({ path: ':memory:' });
    closers.push(() => audit.close());
    const harness = new Harness({ policy: { current: POLICY }, audit });
    expect((await harness.call(lookup(), async () => 'rows', { traceContext: clientContext })).status).toBe(
      'ok',
    );
    expect((await harness.open(lookup(), 'call-2')).ok).toBe(true);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
