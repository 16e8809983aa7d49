/**
 * @module spec/dataflow-policy
 * The data-flow parts of the policy format: how the catalogue says what a tool's output is (trusted
 * structured fields, untrusted free text, labels, tenant) and which of its arguments carry data out
 * (a sink), and the `flows` rules that gate sinks. Validation only; `dataflow/` tracks values and
 * `policy/` evaluates the rules.
 */
import { z } from 'zod';

/** Kinds of identifier-like values found in text (see dataflow/identifiers). */
export const IdentifierKindSchema = z.enum([
  'email',
  'url',
  'iban',
  'phone',
  'account',
  'handle',
  'date',
  'name',
]);
export type IdentifierKind = z.infer<typeof IdentifierKindSchema>;

const FieldNameSchema = z.string().min(1);

/** Where a call's tenant comes from: one of its arguments, or a field of its output. */
export const TenantSourceSchema = z
  .strictObject({
    arg: z.string().min(1).optional(),
    field: FieldNameSchema.optional(),
    /**
     * A regular expression whose first group picks the tenant out of the value (e.g. the client
     * directory in a path: `/clients/([^/]+)/`); without a match there is no tenant.
     */
    pattern: z
      .string()
      .min(1)
      .refine((text) => {
        try {
          return new RegExp(text).source.length > 0;
        } catch {
          return false;
        }
      }, 'not a valid regular expression')
      .optional(),
  })
  .refine((source) => (source.arg === undefined) !== (source.field === undefined), {
    message: 'a tenant source needs exactly one of `arg` or `field`',
  });
export type TenantSource = z.infer<typeof TenantSourceSchema>;

/** What a tool's output is, for labels and argument provenance. */
export const OutputSpecSchema = z.strictObject({
  /** Fields (by name, at any depth) whose text others control, in an otherwise trusted output. */
  untrustedFields: z.array(FieldNameSchema).default([]),
  /** Fields that stay trusted structured data in an output declared `untrustedOutput`. */
  trustedFields: z.array(FieldNameSchema).default([]),
  /** Mapping keys count as trusted structured values even in untrusted output (e.g. names asked for). */
  trustedKeys: z.boolean().default(false),
  /** Labels the output (and the session) gets, e.g. `confidential`. */
  labels: z.array(z.string().min(1)).default([]),
  /** The output belongs to a tenant: its values get `tenant:<x>`. */
  tenant: TenantSourceSchema.optional(),
});
export type OutputSpec = z.infer<typeof OutputSpecSchema>;

/** A tool whose arguments carry data out of the session or change the world on someone's behalf. */
export const SinkSpecSchema = z.strictObject({
  /** Arguments that address the effect (recipient, url, user, account): checked as whole values. */
  args: z.array(z.string().min(1)).default([]),
  /** Free-text arguments (body, subject, content): identifiers found in them are checked. */
  text: z.array(z.string().min(1)).default([]),
  /** The tenant the effect is addressed to. */
  tenant: TenantSourceSchema.optional(),
});
export type SinkSpec = z.infer<typeof SinkSpecSchema>;

export const OriginSchema = z.enum(['user', 'structured', 'designated']);
export type TrustedOrigin = z.infer<typeof OriginSchema>;

/** Shared by every flow rule (mirrors the plain rule's id/reason/mode/principal/tool). */
export const FlowCheckSchema = z.enum(['provenance', 'tenant']);
export type FlowCheck = z.infer<typeof FlowCheckSchema>;
