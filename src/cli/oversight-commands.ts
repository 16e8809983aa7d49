/**
 * @module cli/oversight-commands
 * `reins approvals list|show|approve|deny`, `reins sessions list|show|pause|resume|kill` and
 * `reins override`: human oversight from the command line, on the same stores and through the same
 * `Oversight` service as the console, so every action is checked and audited the same way. Reading
 * needs only access to the store; every action is taken by the user whose API token is given
 * (`--token-file` or `REINS_TOKEN`, cli/operator-auth), with that user's roles, as in the control API.
 */
import { actorOf } from '../api/caller.js';
import { describeReversal, sessionTimeline } from '../inspect/session-timeline.js';
import { StoreOversight } from '../oversight/store-oversight.js';
import { describeError } from '../spec/errors.js';
import type { Actor, ApprovalRecord, ApprovalStatus, SessionSummary } from '../spec/oversight.js';
import { ApprovalStatusSchema } from '../spec/oversight.js';
import type { SessionStatus } from '../spec/tool-call.js';
import { SessionStatusSchema } from '../spec/tool-call.js';
import {
  openIdentityStore,
  openOversightStores,
  openWritableAuditLog,
  type StoreOptions,
} from './audit-store.js';
import { type CliIo, EXIT_OK } from './io.js';
import {
  type ClaimedIdentityOptions,
  exitCodeOf,
  type OperatorOptions,
  rejectClaimedIdentity,
  requireOperatorToken,
  userOfToken,
} from './operator-auth.js';
import { openUserStore } from './user-commands.js';

/** How an operator command says who acts: a user token (the claimed-identity options are refused). */
export type ActorOptions = OperatorOptions & ClaimedIdentityOptions;

export interface FormatOptions {
  readonly format?: string;
}

/**
 * Opens every store the service needs, runs `work`, closes. Refusals (authentication, role,
 * separation of duties) exit 1, other errors 2.
 */
async function withOversight(
  command: string,
  options: StoreOptions,
  io: CliIo,
  work: (
    oversight: StoreOversight,
    stores: { audit: Awaited<ReturnType<typeof openWritableAuditLog>> },
  ) => Promise<number>,
): Promise<number> {
  const closers: (() => Promise<void>)[] = [];
  try {
    const audit = await openWritableAuditLog(options);
    closers.push(() => audit.close());
    const identities = await openIdentityStore(options);
    closers.push(() => identities.close());
    const stores = await openOversightStores(options);
    closers.push(() => stores.close());
    const oversight = new StoreOversight({
      approvals: stores.approvals,
      sessions: stores.sessions,
      identities,
      audit,
    });
    return await work(oversight, { audit });
  } catch (error) {
    io.err(`reins ${command}: ${describeError(error)}`);
    return exitCodeOf(error);
  } finally {
    for (const close of closers.reverse()) await close().catch(() => {});
  }
}

/**
 * Like `withOversight`, for an action: refuses a claimed identity or a missing token before any
 * store is opened, then acts as the user the token belongs to.
 */
export async function asOperator(
  command: string,
  options: StoreOptions & ActorOptions,
  io: CliIo,
  work: (oversight: StoreOversight, actor: Actor) => Promise<number>,
): Promise<number> {
  let token: string;
  try {
    rejectClaimedIdentity(options);
    token = requireOperatorToken(options, io.err);
  } catch (error) {
    io.err(`reins ${command}: ${describeError(error)}`);
    return exitCodeOf(error);
  }
  return withOversight(command, options, io, async (oversight) => {
    const users = await openUserStore(options);
    try {
      const user = await userOfToken(token, users);
      return await work(oversight, actorOf(user));
    } finally {
      await users.close().catch(() => {});
    }
  });
}

function describeApproval(record: ApprovalRecord): string {
  const needs = record.requirements
    .map(
      (requirement) =>
        `${requirement.quorum} of ${requirement.approvers.join('|')}${requirement.ownerMayApprove ? '' : ' (not the owner alone)'}`,
    )
    .join(' and ');
  return [
    `${record.id} (${record.status})`,
    `  call: ${record.tool.server}/${record.tool.name} ${JSON.stringify(record.args)}`,
    `  agent: ${record.agentId}${record.owner ? ` (owner ${record.owner})` : ''}, session ${record.sessionId}`,
    `  why held: ${record.reasons.join('; ')}`,
    `  needs: ${needs}`,
    `  created ${record.createdAt}, expires ${record.expiresAt}`,
    ...record.votes.map(
      (vote) =>
        `  ${vote.approved ? 'approved' : 'denied'} by ${vote.actor.id} at ${vote.at}: ${vote.reason}`,
    ),
  ].join('\n');
}

function describeSession(session: SessionSummary): string {
  // a session killed or paused before it started names no agent until it shows up
  const agent = session.agentId || '(not seen yet)';
  return `${session.id}  ${session.status.padEnd(7)} agent ${agent}, started ${session.startedAt}${
    session.changedBy ? `, ${session.status} by ${session.changedBy}: ${session.reason ?? ''}` : ''
  }`;
}

function parseEnum<T extends string>(
  schema: { safeParse(value: unknown): { success: true; data: T } | { success: false } },
  value: string | undefined,
  what: string,
): T | undefined {
  if (value === undefined) return undefined;
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new Error(`unknown ${what} \`${value}\``);
  return parsed.data;
}

export function listApprovals(
  options: StoreOptions & FormatOptions & { status?: string },
  io: CliIo,
): Promise<number> {
  return withOversight('approvals', options, io, async (oversight) => {
    const status = parseEnum<ApprovalStatus>(ApprovalStatusSchema, options.status ?? 'pending', 'status');
    const records = await oversight.listApprovals(status === undefined ? {} : { status });
    if (options.format === 'json') io.out(JSON.stringify(records, null, 2));
    else if (records.length === 0) io.out(`no ${status ?? ''} approval requests`);
    else io.out(records.map(describeApproval).join('\n\n'));
    return EXIT_OK;
  });
}

export function showApproval(id: string, options: StoreOptions & FormatOptions, io: CliIo): Promise<number> {
  return withOversight('approvals', options, io, async (oversight) => {
    const record = await oversight.getApproval(id);
    if (record === undefined) throw new Error(`unknown approval request \`${id}\``);
    io.out(options.format === 'json' ? JSON.stringify(record, null, 2) : describeApproval(record));
    return EXIT_OK;
  });
}

export function voteApproval(
  id: string,
  approved: boolean,
  options: StoreOptions & ActorOptions & { reason: string },
  io: CliIo,
): Promise<number> {
  return asOperator('approvals', options, io, async (oversight, actor) => {
    const record = await oversight.voteApproval(id, actor, { approved, reason: options.reason });
    io.out(describeApproval(record));
    return EXIT_OK;
  });
}

export function listSessions(
  options: StoreOptions & FormatOptions & { status?: string; agent?: string },
  io: CliIo,
): Promise<number> {
  return withOversight('sessions', options, io, async (oversight) => {
    const status = parseEnum<SessionStatus>(SessionStatusSchema, options.status, 'status');
    const sessions = await oversight.listSessions({
      ...(status ? { status } : {}),
      ...(options.agent ? { agentId: options.agent } : {}),
    });
    if (options.format === 'json') io.out(JSON.stringify(sessions, null, 2));
    else if (sessions.length === 0) io.out('no sessions');
    else io.out(sessions.map(describeSession).join('\n'));
    return EXIT_OK;
  });
}

export function showSession(id: string, options: StoreOptions & FormatOptions, io: CliIo): Promise<number> {
  return withOversight('sessions', options, io, async (oversight, { audit }) => {
    const session = await oversight.getSession(id);
    const steps = await sessionTimeline(audit, id);
    if (session === undefined && steps.length === 0) throw new Error(`unknown session \`${id}\``);
    if (options.format === 'json') {
      io.out(JSON.stringify({ session, steps }, null, 2));
      return EXIT_OK;
    }
    io.out(session ? describeSession(session) : `${id} (not registered with session control)`);
    for (const step of steps) {
      const effect = step.intent?.event.decision.effect ?? '?';
      const outcome = step.outcome?.event.outcome ?? 'pending';
      const links = step.links.map((link) => `${link.rel} ${link.id}`).join(', ');
      io.out(
        `  ${step.decisionId}  ${step.tool}  ${effect} -> ${outcome}  [${describeReversal(step)}]${links ? `  (${links})` : ''}`,
      );
    }
    return EXIT_OK;
  });
}

export function setSessionStatus(
  id: string,
  status: SessionStatus,
  options: StoreOptions & ActorOptions & { reason: string },
  io: CliIo,
): Promise<number> {
  return asOperator('sessions', options, io, async (oversight, actor) => {
    const session = await oversight.setSessionStatus(id, status, actor, options.reason);
    io.out(describeSession(session));
    return EXIT_OK;
  });
}

export function overrideDenial(
  decisionId: string,
  options: StoreOptions & ActorOptions & { reason: string; session?: string },
  io: CliIo,
): Promise<number> {
  return asOperator('override', options, io, async (oversight, actor) => {
    const grant = await oversight.overrideDenial(decisionId, actor, options.reason, options.session);
    io.out(
      `override granted for call ${grant.decisionId} until ${grant.expiresAt}: the agent may retry it once, unchanged`,
    );
    return EXIT_OK;
  });
}
