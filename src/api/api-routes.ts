/**
 * @module api/api-routes
 * The control plane's routes as data: path, method, request and response schemas (zod, from `spec`
 * where the record already has one). The OpenAPI document is generated from these, and requests are
 * validated against them before a handler runs, so the document cannot drift from the behaviour.
 */
import { createRoute, type RouteConfig } from '@hono/zod-openapi';
import { z } from 'zod';
import { AuditEventV1Schema } from '../spec/audit-event.js';
import { DecisionSchema } from '../spec/decision.js';
import { AgentRecordV1Schema, RevocationV1Schema } from '../spec/identity.js';
import { MonitorFindingSchema } from '../spec/monitor.js';
import { ApprovalRecordSchema, ApprovalStatusSchema, SessionSummarySchema } from '../spec/oversight.js';
import { CallProvenanceRecordSchema } from '../spec/provenance.js';
import { CompensatesSchema, ReversalKindSchema } from '../spec/reversal.js';
import { PrincipalSchema, SessionStatusSchema, ToolRefSchema } from '../spec/tool-call.js';
import { ApiErrorSchema } from './api-errors.js';

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});

const body = <T extends z.ZodType>(schema: T) => ({
  body: { content: { 'application/json': { schema } }, required: true },
});

const errors = {
  400: json(ApiErrorSchema, 'invalid input'),
  401: json(ApiErrorSchema, 'not authenticated'),
  403: json(ApiErrorSchema, 'the caller lacks the role, or a console write lacks its CSRF token'),
  500: json(ApiErrorSchema, 'internal error (no details are given)'),
};
const notFound = { 404: json(ApiErrorSchema, 'no such record') };
const conflict = { 409: json(ApiErrorSchema, 'the record is no longer in a state that allows this') };

const bearer = [{ bearer: [] }, { console: [] }];

/** Why a human acted: required on every write, and recorded in the audit log. */
export const ReasonBodySchema = z.strictObject({ reason: z.string().trim().min(1).max(2_000) });
const IdParams = z.object({ id: z.string().min(1).max(256) });

export const UserViewSchema = z.strictObject({
  id: z.string(),
  roles: z.array(z.string()),
  /** The roles the user acts with: built-in roles implied by the highest one, plus the others. */
  effectiveRoles: z.array(z.string()),
  createdAt: z.string(),
  createdBy: z.string(),
});

export const LoginResponseSchema = z.strictObject({
  user: UserViewSchema,
  /** Send back in `X-CSRF-Token` on every console write (cookie sessions only). */
  csrfToken: z.string().optional(),
  /** What the user may do beyond their built-in roles, under the policy in force. */
  permissions: z.strictObject({
    /** Roll sessions back: a role in the policy's `rollback.operators`, and a gateway to run it. */
    rollback: z.boolean(),
  }),
});

export const DecideRequestSchema = z.strictObject({
  /** Only for human callers (a what-if); an agent's principal comes from its credential. */
  principal: PrincipalSchema.optional(),
  sessionId: z.string().min(1).max(256).optional(),
  tool: ToolRefSchema,
  args: z.record(z.string(), z.unknown()).default({}),
  context: z.record(z.string(), z.unknown()).default({}),
});

/** What `POST /v1/decide` is, and where it can still differ from the gateway for the same call. */
const DECIDE_DESCRIPTION = [
  'A dry run of the decision the gateway would make, for what-if questions and agent frameworks that ask before acting. Nothing runs and nothing is recorded.',
  "It decides through the same entry point as the gateway: the rules, the credential scope (agents), the redaction screening of the arguments (a secret the policy blocks is a `deny`, one it holds is `approve`), and the state of the session the call names as the deployment's audit log holds it: its history (sequence rules), its data flow (`flows` rules), its status (paused or killed sessions are refused), and the limit counters of the last window. A session the log has never seen starts fresh.",
  "What can still differ: a human caller supplies the principal (roles, owner) and is trusted for it; the standing of the agent (suspended, revoked) and tool pinning and quarantine are not consulted; a call's `context` and user input declared by an adapter are not in the log; and calls the gateway is deciding at this very moment are not on record yet.",
  'Every answer carries `dryRun: true`. It is never an approval and grants nothing.',
].join('\n\n');

/** What `POST /v1/sessions/{id}/rollback` does (docs/console.md, decision 0022). */
const ROLLBACK_DESCRIPTION = [
  "Each call after the rollback point that ran is undone by its compensation, built from its recorded arguments, its result and the state captured before it ran; newest first, each step through the gateway's full pipeline (decided and recorded, linked to the call it undoes) on behalf of the agent that made the call, on the authority of the caller.",
  "Send `dryRun: true` first: the answer is the plan (what would be undone, what cannot be and why, and changes by other sessions since that undoing would overwrite); nothing runs and nothing is recorded. Step arguments are screened by the policy's output redaction.",
  'A run needs a `reason`. It is recorded as operator actions (`session.rollback`, then `.done` or `.failed`). With conflicts it does not run unless `force` is sent. The first compensation that fails stops it: the answer is 409 with the report of what was and was not undone; running it again resumes and never undoes a call twice.',
].join('\n\n');

export const DecideResponseSchema = DecisionSchema.extend({
  /** Always true: this decision is a dry run (see the endpoint description for how it can differ). */
  dryRun: z.literal(true),
});

export const TimelineStepSchema = z.strictObject({
  decisionId: z.string(),
  agentId: z.string(),
  delegatedBy: z.array(z.string()),
  tool: z.string(),
  intent: z.strictObject({ seq: z.number(), event: AuditEventV1Schema }).optional(),
  outcome: z.strictObject({ seq: z.number(), event: AuditEventV1Schema }).optional(),
  links: z.array(z.strictObject({ rel: z.string(), id: z.string() })),
  /**
   * Where its argument values came from (the call, the output field and its trust; `none`: the
   * model's own) and the user's request it declared, as its intent recorded them (issue 18). Absent
   * for an intent recorded before argument provenance was, or a call without an intent record.
   */
  provenance: CallProvenanceRecordSchema.optional(),
  /** How the call can be undone, as its intent recorded it (`undeclared` when it recorded nothing). */
  reversal: z.strictObject({ kind: ReversalKindSchema, reason: z.string().optional() }).optional(),
  /** Whether the call changes anything: false for a tool the policy's catalogue says only reads. */
  changes: z.boolean().optional(),
  /** What the runtime monitor found when it was decided (issue 19); absent when nothing deviated. */
  monitor: z.array(MonitorFindingSchema).optional(),
  /** Did it (possibly) run: allowed or released, and not refused before its tool started. */
  ran: z.boolean(),
  /** A compensation run by a rollback: the call it undoes. */
  compensates: CompensatesSchema.optional(),
  /** A rollback completed the undo of this call. */
  undone: z
    .strictObject({ rollbackId: z.string(), by: z.string(), compensations: z.array(z.string()) })
    .optional(),
});

/** The posture of a session: which of the calls that changed something can be undone. */
export const SessionPostureSchema = z.strictObject({
  /** Calls of the session (compensations excluded). */
  calls: z.number(),
  /** Calls that ran and change something (not read-only). */
  changing: z.number(),
  /** Of those, the reversible ones. */
  reversible: z.number(),
  /** Changing calls by their reversibility. */
  kinds: z.partialRecord(ReversalKindSchema, z.number()),
  /** Calls a rollback undid. */
  undone: z.number(),
});

export const TimelineSchema = z.strictObject({
  steps: z.array(TimelineStepSchema),
  posture: SessionPostureSchema,
});

/** `POST /v1/sessions/{id}/rollback`; a run needs a reason, a dry run does not. */
export const RollbackRequestSchema = z
  .strictObject({
    /** Keep this call (a decision id of the session) and undo everything after it. */
    to: z.string().min(1).max(256).optional(),
    /** Answer the plan and change nothing. */
    dryRun: z.boolean().default(false),
    /** Undo even where calls of other sessions changed the same resources since (overwriting them). */
    force: z.boolean().default(false),
    /** Why, for the record: required unless `dryRun`. */
    reason: z.string().trim().min(1).max(2_000).optional(),
  })
  .refine((request) => request.dryRun || request.reason !== undefined, {
    path: ['reason'],
    message: 'give a reason (why, for the record): a rollback needs one unless it is a dry run',
  });

const RollbackStepSchema = z.strictObject({
  /** A tool of the same server as the call it undoes. */
  tool: z.string(),
  /** Screened by the policy's output redaction (they may hold captured content). */
  args: z.record(z.string(), z.unknown()).optional(),
  /** Why the arguments are not shown. */
  withheld: z.string().optional(),
});

const RollbackConflictSchema = z.strictObject({
  /** The call whose undo would overwrite the other session's change. */
  decisionId: z.string(),
  resource: z.string(),
  other: z.strictObject({
    decisionId: z.string(),
    sessionId: z.string(),
    agentId: z.string(),
    tool: ToolRefSchema,
    time: z.string(),
  }),
});

export const RollbackPlanSchema = z.strictObject({
  sessionId: z.string(),
  /** The call kept: only calls after it are undone. */
  to: z.string().optional(),
  /** Every call after the rollback point that ran, newest first. */
  calls: z.array(
    z.strictObject({
      decisionId: z.string(),
      agentId: z.string(),
      tool: ToolRefSchema,
      time: z.string(),
      status: z.enum(['undo', 'undone', 'nothing-to-undo', 'cannot-undo']),
      /** Why it cannot be undone, or how it was found undone. */
      reason: z.string().optional(),
      /** The compensation steps, for `undo`, in the order they run. */
      steps: z.array(RollbackStepSchema),
      /** What the call changed (conflict detection). */
      resources: z.array(z.string()),
      /** An earlier rollback started to undo it and was interrupted. */
      interrupted: z.boolean(),
    }),
  ),
  /** Changes by other sessions since that undoing would overwrite. */
  conflicts: z.array(RollbackConflictSchema),
});

export const RollbackReportSchema = z.strictObject({
  /** The id of the `session.rollback` operator action; its compensations carry it. */
  rollbackId: z.string(),
  /** Every call that could be undone is undone. */
  complete: z.boolean(),
  message: z.string(),
  /** Per call of the plan, newest first: what this rollback did. */
  results: z.array(
    z.strictObject({
      decisionId: z.string(),
      tool: z.string(),
      status: z.enum(['undone', 'already-undone', 'nothing-to-undo', 'cannot-undo', 'failed', 'not-reached']),
      detail: z.string().optional(),
      /** Decision ids of the compensation steps this rollback ran for it. */
      compensations: z.array(z.string()),
    }),
  ),
  plan: RollbackPlanSchema,
});

/** A rollback that did not run through: the error format, with what the caller needs to act on it. */
const RollbackConflictBodySchema = z.strictObject({
  error: z.strictObject({
    code: z.literal('conflict'),
    message: z.string(),
    details: z.strictObject({
      /**
       * `conflicts`: other sessions changed the same resources since, nothing ran (send `force` to
       * overwrite); `busy`: another rollback of the session is running, nothing ran; `failed`: a
       * compensation failed and the rollback stopped (run it again to resume).
       */
      reason: z.enum(['conflicts', 'busy', 'failed']),
      conflicts: z.array(RollbackConflictSchema).optional(),
      plan: RollbackPlanSchema.optional(),
      report: RollbackReportSchema.optional(),
    }),
  }),
});

export const AuditRecordSchema = z.strictObject({
  seq: z.number(),
  hash: z.string(),
  event: AuditEventV1Schema,
});

export const VerifyReportSchema = z.object({
  ok: z.boolean(),
  checked: z.number(),
  lastSeq: z.number(),
  lastHash: z.string(),
  checkpointsVerified: z.number(),
  signaturesChecked: z.boolean(),
  anchoredAt: z.number().optional(),
  firstBad: z.object({ seq: z.number(), problem: z.string(), message: z.string() }).optional(),
});

export const PolicyStatusSchema = z.strictObject({
  /** The policy file or directory. */
  path: z.string(),
  hash: z.string(),
  files: z.array(z.string()),
  summary: z.strictObject({
    documents: z.number(),
    rules: z.number(),
    shadowRules: z.number(),
    tools: z.number(),
  }),
  /** ISO 8601: when the version in force was loaded. */
  loadedAt: z.string(),
  /** The last reload attempt; `rejected` means the version in force was kept. */
  lastReload: z
    .strictObject({
      at: z.string(),
      outcome: z.enum(['reloaded', 'rejected']),
      problems: z.array(z.string()),
    })
    .optional(),
});
export type PolicyStatus = z.infer<typeof PolicyStatusSchema>;

export const AgentDetailSchema = z.strictObject({
  agent: AgentRecordV1Schema,
  /** Revocations in force that hit this agent's credentials. */
  revocations: z.array(RevocationV1Schema),
});

const route = <T extends RouteConfig>(config: T) => createRoute({ security: bearer, ...config });

/** Approve and deny differ only in their verb: one declaration serves both. */
function voteRoute(verb: 'approve' | 'deny', summary: string) {
  return route({
    method: 'post',
    path: `/v1/approvals/{id}/${verb}`,
    tags: ['approvals'],
    summary: `${summary} (a role the approve rule names: \`approver\` by default)`,
    request: { params: IdParams, ...body(ReasonBodySchema) },
    responses: {
      200: json(ApprovalRecordSchema, 'the request after the vote'),
      ...errors,
      ...notFound,
      ...conflict,
      410: json(ApiErrorSchema, 'the request expired'),
    },
  });
}

export const routes = {
  login: createRoute({
    method: 'post',
    path: '/v1/login',
    tags: ['console'],
    summary: 'Exchange an API token for a console session (HttpOnly cookie) and a CSRF token',
    request: body(z.strictObject({ token: z.string().min(1).max(512) })),
    responses: { 200: json(LoginResponseSchema, 'logged in'), ...errors },
  }),
  logout: route({
    method: 'post',
    path: '/v1/logout',
    tags: ['console'],
    summary: 'End the console session',
    responses: { 204: { description: 'logged out' }, ...errors },
  }),
  me: route({
    method: 'get',
    path: '/v1/me',
    tags: ['console'],
    summary: 'The calling user',
    responses: { 200: json(LoginResponseSchema, 'the user'), ...errors },
  }),
  decide: route({
    method: 'post',
    path: '/v1/decide',
    tags: ['decide'],
    summary:
      'Dry run: decide one call against the policy in force (nothing runs and nothing is recorded). Agents send their credential; viewers may ask for any principal.',
    description: DECIDE_DESCRIPTION,
    request: body(DecideRequestSchema),
    responses: { 200: json(DecideResponseSchema, 'the decision, marked as a dry run'), ...errors },
  }),
  listApprovals: route({
    method: 'get',
    path: '/v1/approvals',
    tags: ['approvals'],
    summary: 'Approval requests, newest first (viewer)',
    request: {
      query: z.object({
        status: ApprovalStatusSchema.optional(),
        sessionId: z.string().optional(),
        limit: z.coerce.number().int().min(1).max(1_000).default(100),
      }),
    },
    responses: {
      200: json(z.strictObject({ approvals: z.array(ApprovalRecordSchema) }), 'requests'),
      ...errors,
    },
  }),
  getApproval: route({
    method: 'get',
    path: '/v1/approvals/{id}',
    tags: ['approvals'],
    summary: 'One approval request (viewer)',
    request: { params: IdParams },
    responses: { 200: json(ApprovalRecordSchema, 'the request'), ...errors, ...notFound },
  }),
  approve: voteRoute('approve', 'Vote to approve the held call'),
  deny: voteRoute('deny', 'Refuse the held call'),
  listSessions: route({
    method: 'get',
    path: '/v1/sessions',
    tags: ['sessions'],
    summary: 'Sessions, most recently changed first (viewer)',
    request: {
      query: z.object({
        status: SessionStatusSchema.optional(),
        agentId: z.string().optional(),
        limit: z.coerce.number().int().min(1).max(1_000).default(100),
      }),
    },
    responses: {
      200: json(z.strictObject({ sessions: z.array(SessionSummarySchema) }), 'sessions'),
      ...errors,
    },
  }),
  getSession: route({
    method: 'get',
    path: '/v1/sessions/{id}',
    tags: ['sessions'],
    summary: 'One session (viewer)',
    request: { params: IdParams },
    responses: { 200: json(SessionSummarySchema, 'the session'), ...errors, ...notFound },
  }),
  timeline: route({
    method: 'get',
    path: '/v1/sessions/{id}/timeline',
    tags: ['sessions'],
    summary: 'Every call of the session from the audit log, with decision, outcome and provenance (viewer)',
    request: { params: IdParams },
    responses: { 200: json(TimelineSchema, 'the steps and the posture of the session'), ...errors },
  }),
  rollback: route({
    method: 'post',
    path: '/v1/sessions/{id}/rollback',
    tags: ['sessions'],
    summary:
      'Undo what a session did: each call after `to`, newest first, by its compensation through the gateway (admin, or a role the policy names in `rollback.operators`)',
    description: ROLLBACK_DESCRIPTION,
    request: { params: IdParams, ...body(RollbackRequestSchema) },
    responses: {
      200: json(
        z.strictObject({ plan: RollbackPlanSchema.optional(), report: RollbackReportSchema.optional() }),
        'a dry run: `plan`; a rollback that undid every call it could: `report`',
      ),
      ...errors,
      404: json(ApiErrorSchema, 'the session, or the call `to` names, is not in the audit log'),
      409: json(
        RollbackConflictBodySchema,
        'nothing ran (conflicts, or another rollback is running), or the rollback stopped at a failure',
      ),
      503: json(ApiErrorSchema, 'this control plane runs without the gateway, which runs compensations'),
    },
  }),
  setSessionStatus: route({
    method: 'post',
    path: '/v1/sessions/{id}/{action}',
    tags: ['sessions'],
    summary: 'Pause, resume or kill (final) a session, in every process (approver)',
    request: {
      params: IdParams.extend({ action: z.enum(['pause', 'resume', 'kill']) }),
      ...body(ReasonBodySchema),
    },
    responses: { 200: json(SessionSummarySchema, 'the session'), ...errors, ...notFound, ...conflict },
  }),
  listAgents: route({
    method: 'get',
    path: '/v1/agents',
    tags: ['agents'],
    summary: 'Registered agents (viewer)',
    responses: { 200: json(z.strictObject({ agents: z.array(AgentRecordV1Schema) }), 'agents'), ...errors },
  }),
  getAgent: route({
    method: 'get',
    path: '/v1/agents/{id}',
    tags: ['agents'],
    summary: 'One agent and the revocations that hit its credentials (viewer)',
    request: { params: IdParams },
    responses: { 200: json(AgentDetailSchema, 'the agent'), ...errors, ...notFound },
  }),
  setAgentState: route({
    method: 'post',
    path: '/v1/agents/{id}/{action}',
    tags: ['agents'],
    summary: 'Suspend (kill switch: every call denied, credentials revoked) or resume an agent (admin)',
    request: {
      params: IdParams.extend({ action: z.enum(['suspend', 'resume']) }),
      ...body(ReasonBodySchema),
    },
    responses: { 200: json(AgentDetailSchema, 'the agent'), ...errors, ...notFound, ...conflict },
  }),
  revokeCredentials: route({
    method: 'post',
    path: '/v1/agents/{id}/credentials/revoke',
    tags: ['agents'],
    summary: 'Revoke every credential the agent holds now, without suspending it (admin)',
    request: { params: IdParams, ...body(ReasonBodySchema) },
    responses: { 200: json(AgentDetailSchema, 'the agent'), ...errors, ...notFound },
  }),
  override: route({
    method: 'post',
    path: '/v1/overrides',
    tags: ['approvals'],
    summary: 'Let one denied call run once if the agent retries it unchanged (admin)',
    request: body(
      ReasonBodySchema.extend({
        decisionId: z.string().min(1).max(256),
        /** Needed to find a denial older than a day. */
        sessionId: z.string().min(1).max(256).optional(),
      }),
    ),
    responses: {
      200: json(
        z.strictObject({
          decisionId: z.string(),
          callHash: z.string(),
          by: z.string(),
          reason: z.string(),
          expiresAt: z.string(),
        }),
        'the grant',
      ),
      ...errors,
      ...notFound,
      ...conflict,
    },
  }),
  queryAudit: route({
    method: 'get',
    path: '/v1/audit',
    tags: ['audit'],
    summary:
      'Audit records matching every given filter, in sequence order, or newest first with `order=desc` (viewer)',
    request: {
      query: z.object({
        agentId: z.string().optional(),
        sessionId: z.string().optional(),
        tool: z.string().optional(),
        effect: z.string().optional(),
        kind: z
          .enum([
            'call-intent',
            'call-outcome',
            'credential-rejected',
            'tool-pinning',
            'operator-action',
            'restore',
          ])
          .optional(),
        from: z.iso.datetime({ offset: true }).optional(),
        to: z.iso.datetime({ offset: true }).optional(),
        /** Paging oldest first: the records after this one. */
        afterSeq: z.coerce.number().int().min(0).optional(),
        /** Paging newest first: the records before this one. */
        beforeSeq: z.coerce.number().int().min(1).optional(),
        order: z.enum(['asc', 'desc']).default('asc'),
        limit: z.coerce.number().int().min(1).max(1_000).default(100),
      }),
    },
    responses: { 200: json(z.strictObject({ records: z.array(AuditRecordSchema) }), 'records'), ...errors },
  }),
  verifyAudit: route({
    method: 'post',
    path: '/v1/audit/verify',
    tags: ['audit'],
    summary: 'Walk the whole hash chain against its signed checkpoints (viewer)',
    responses: { 200: json(VerifyReportSchema, 'the report'), ...errors },
  }),
  policy: route({
    method: 'get',
    path: '/v1/policy',
    tags: ['policy'],
    summary: 'The policy in force: hash, files, last reload (viewer)',
    responses: { 200: json(PolicyStatusSchema, 'status'), ...errors },
  }),
  events: route({
    method: 'get',
    path: '/v1/events',
    tags: ['console'],
    summary: 'Server-sent events: `approval` and `session` changes from every process (viewer)',
    responses: { 200: { description: 'text/event-stream' }, ...errors },
  }),
};
