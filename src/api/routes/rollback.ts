/**
 * @module api/routes/rollback
 * `POST /v1/sessions/{id}/rollback` (issue 16): the plan of a rollback (`dryRun`), or the rollback
 * itself, through the rollback service `reins serve` composes from the gateway. Only an admin or a
 * user holding a role the policy in force names in `rollback.operators` may ask, for a plan too (its
 * steps are built from captured state). The route records nothing itself: the rollback records its
 * operator actions and every compensation. Without the service (a control plane started without the
 * gateway) it answers 503.
 */
import type { PreparedPolicy } from '../../policy/prepared-policy.js';
import { ApiError } from '../api-errors.js';
import { routes } from '../api-routes.js';
import { actorOf, requireUser } from '../caller.js';
import { mayRollBack, type UserRecordV1 } from '../users.js';
import {
  type ControlApp,
  type ControlServices,
  callerOf,
  type RollbackPlanView,
  type RollbackReportView,
} from './control-services.js';

export function mountRollbackRoute(app: ControlApp, services: ControlServices): void {
  app.openapi(routes.rollback, async (context) => {
    const user = requireUser(callerOf(context), 'viewer');
    requireRollbackOperator(user, services.policy.current);
    const service = services.rollback;
    if (service === undefined)
      throw new ApiError(
        'unavailable',
        'rolling back needs the gateway, whose upstreams run the compensations, and this control plane runs without it: use `reins serve`, or `reins rollback` on the command line',
      );
    const { id } = context.req.valid('param');
    const body = context.req.valid('json');
    const request = { sessionId: id, ...(body.to !== undefined ? { to: body.to } : {}) };
    if (body.dryRun) {
      const planned = await service.plan(request);
      if (planned.status === 'refused') throw new ApiError('not_found', planned.message);
      return context.json({ plan: planWire(planned.plan) }, 200);
    }
    const outcome = await service.run({
      ...request,
      actor: actorOf(user),
      reason: body.reason as string, // the schema requires it unless dryRun
      force: body.force,
    });
    switch (outcome.status) {
      case 'refused':
        throw new ApiError('not_found', outcome.message);
      case 'conflicts':
        throw new ApiError('conflict', outcome.message, {
          reason: 'conflicts',
          conflicts: planWire(outcome.plan).conflicts,
          plan: planWire(outcome.plan),
        });
      case 'busy':
        throw new ApiError('conflict', outcome.message, { reason: 'busy' });
      case 'ran': {
        const report = reportWire(outcome.report);
        if (!report.complete) throw new ApiError('conflict', report.message, { reason: 'failed', report });
        return context.json({ report }, 200);
      }
    }
  });
}

/** Whether `user` may roll sessions back under `policy` (admin always may). */
export function userMayRollBack(user: UserRecordV1, policy: PreparedPolicy): boolean {
  return mayRollBack(user.roles, policy.rollbackOperators);
}

function requireRollbackOperator(user: UserRecordV1, policy: PreparedPolicy): void {
  if (userMayRollBack(user, policy)) return;
  const allowed = policy.rollbackOperators;
  throw new ApiError(
    'forbidden',
    `\`${user.id}\` needs one of the roles ${allowed.join(', ')} to roll back`,
    {
      needed: [...allowed],
      held: user.roles,
    },
  );
}

function planWire(plan: RollbackPlanView) {
  return {
    sessionId: plan.sessionId,
    ...(plan.to !== undefined ? { to: plan.to } : {}),
    calls: plan.calls.map((call) => ({
      decisionId: call.decisionId,
      agentId: call.principal.agentId,
      tool: { server: call.tool.server, name: call.tool.name },
      time: call.time,
      status: call.status,
      ...(call.reason !== undefined ? { reason: call.reason } : {}),
      steps: call.steps.map((step) =>
        step.withheld !== undefined
          ? { tool: step.tool, withheld: step.withheld }
          : { tool: step.tool, args: step.args },
      ),
      resources: [...call.resources],
      interrupted: call.interrupted,
    })),
    conflicts: plan.conflicts.map((conflict) => ({
      decisionId: conflict.decisionId,
      resource: conflict.resource,
      other: {
        ...conflict.other,
        tool: { server: conflict.other.tool.server, name: conflict.other.tool.name },
      },
    })),
  };
}

function reportWire(report: RollbackReportView) {
  return {
    rollbackId: report.rollbackId,
    complete: report.complete,
    message: report.message,
    results: report.results.map((result) => ({
      decisionId: result.decisionId,
      tool: result.tool,
      status: result.status,
      ...(result.detail !== undefined ? { detail: result.detail } : {}),
      compensations: [...result.compensations],
    })),
    plan: planWire(report.plan),
  };
}
