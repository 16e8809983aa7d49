/**
 * @module cli/option-values.test
 * The command line writes out what `audit query --effect` and `--kind` accept (so that building the
 * command tree loads no schema library); this holds that vocabulary to spec's schemas, in their order,
 * so that a new record kind or effect cannot be missing from the options.
 */
import { describe, expect, it } from 'vitest';
import {
  AuditEventV1Schema,
  CREDENTIAL_REJECTED_EFFECT,
  OutcomeSchema,
  RESTORE_EFFECT,
  ToolPinningEventSchema,
} from '../spec/audit-event.js';
import { EffectSchema } from '../spec/policy-document.js';
import { AUDIT_KINDS, auditEffect, auditKind, FIXED_EFFECTS } from './option-values.js';

describe('the audit vocabulary of the command line', () => {
  it('lists the effects the schemas define, kind by kind', () => {
    expect(FIXED_EFFECTS.map(({ values }) => [...values])).toEqual([
      EffectSchema.options,
      OutcomeSchema.options,
      ToolPinningEventSchema.shape.status.options,
      [CREDENTIAL_REJECTED_EFFECT],
      [RESTORE_EFFECT],
    ]);
  });

  it('lists the record kinds of AuditEventV1Schema', () => {
    expect(AUDIT_KINDS).toEqual(AuditEventV1Schema.options.map((option) => option.shape.kind.value));
  });

  it('accepts each of them and refuses anything else', () => {
    for (const kind of AUDIT_KINDS) expect(auditKind(kind)).toBe(kind);
    for (const { values } of FIXED_EFFECTS)
      for (const effect of values) expect(auditEffect(effect)).toBe(effect);
    expect(auditEffect('approval.approve')).toBe('approval.approve');
    expect(() => auditKind('call')).toThrow(/give one of call-intent, /);
    expect(() => auditEffect('nonsense')).toThrow(/give one of allow, deny, approve \(intents\)/);
  });
});
