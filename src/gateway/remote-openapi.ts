/**
 * @module gateway/remote-openapi
 * The OpenAPI 3.1 document of the remote enforcement protocol, built from the same zod schemas the
 * server validates with (spec/remote-call), so the description cannot drift from what is enforced.
 * Served at `GET /v1/openapi.json` on the gateway listener and kept in docs/remote-protocol.openapi.json.
 */
import { z } from 'zod';
import {
  CALL_REFUSAL_STATUS,
  CallStateSchema,
  CancelRequestSchema,
  OpenCallRequestSchema,
  OutcomeReportSchema,
  RemoteErrorSchema,
} from '../spec/remote-call.js';
import { MAX_WAIT_SECONDS } from './remote-calls.js';

export const REMOTE_OPENAPI_PATH = '/v1/openapi.json';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ 'application/json': { schema } });
const error = (description: string) => ({ description, content: json(ref('Error')) });

const AUTH_ERRORS = {
  '401': error('No credential, or one that is forged, expired, revoked, or of a suspended agent.'),
  '503': error(`The store could not be read or written (\`state_unavailable\`): nothing was assumed.`),
};

const CALL_ID = {
  name: 'id',
  in: 'path',
  required: true,
  description: "The call's id (its decision id), as `POST /v1/calls` answered it.",
  schema: { type: 'string', maxLength: 128 },
};

export function remoteCallsOpenApi(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Reins remote enforcement protocol',
      version: '1',
      description:
        "For agents whose tools are their own functions: open a call (decided and recorded before it runs), wait while humans decide a held one, run the tool with exactly the arguments given, report the outcome. Authenticated with the agent's Reins credential; the credential names the agent and the session. `POST /v1/decide` on the control listener is a dry run: it records nothing.",
    },
    security: [{ agentCredential: [] }],
    paths: {
      '/v1/calls': {
        post: {
          summary: 'Open a call: decided, its intent recorded before anything runs',
          description:
            "Answers with the call's state: `ready` (run the tool with `args`, then report), `held` (wait), `denied` (do not run it; its outcome is recorded). With `callId`, the same call id again (same agent and session) answers for the first call, and only with the same arguments.",
          requestBody: { required: true, content: json(ref('OpenCallRequest')) },
          responses: {
            '200': { description: 'The call was decided and recorded.', content: json(ref('CallState')) },
            '400': error('The body is not JSON or not a valid call (`invalid_json`, `invalid_request`).'),
            '409': error('`call_conflict`: the call id was used for a different call in this session.'),
            '413': error('The body is larger than `limits.maxMessageBytes`.'),
            '415': error('The body is not `application/json`.'),
            ...AUTH_ERRORS,
          },
        },
      },
      '/v1/calls/{id}': {
        get: {
          summary: 'Where a call stands; wait while it is held',
          description: `\`?wait=N\` holds the request up to N seconds (at most ${MAX_WAIT_SECONDS}) while the call is held. With \`Accept: text/event-stream\`, the state is streamed as \`event: state\` messages until the call is no longer held. The wait ends with the request; the held call does not (it ends when it is approved and released, refused, expired, or its session or credential is stopped). An approved call is released (its approval spent) by the first such request.`,
          parameters: [
            CALL_ID,
            {
              name: 'wait',
              in: 'query',
              required: false,
              schema: { type: 'number', minimum: 0, maximum: MAX_WAIT_SECONDS },
            },
          ],
          responses: {
            '200': {
              description: "The call's state (or a stream of them).",
              content: { ...json(ref('CallState')), 'text/event-stream': { schema: { type: 'string' } } },
            },
            '400': error('`wait` is not a number of seconds.'),
            '404': error('No such call of this agent in this session.'),
            ...AUTH_ERRORS,
          },
        },
      },
      '/v1/calls/{id}/outcome': {
        post: {
          summary: 'Report what the tool did; the answer is what the agent may use',
          description:
            'Only for a `ready` call, once, in whichever gateway process: the result is screened, filtered and recorded, and the answer carries it as the agent may see it (`completed` with `output`, or `failed` with `error`).',
          parameters: [CALL_ID],
          requestBody: { required: true, content: json(ref('OutcomeReport')) },
          responses: {
            '200': { description: 'The outcome is on record.', content: json(ref('CallState')) },
            '400': error('Not a valid outcome report.'),
            '404': error('No such call of this agent in this session.'),
            '409': error(
              '`not_ready`: the call is held, was refused (the tool must not have run), or its outcome is already on record.',
            ),
            '413': error('The body is larger than `limits.maxMessageBytes`.'),
            '415': error('The body is not `application/json`.'),
            ...AUTH_ERRORS,
          },
        },
      },
      '/v1/calls/{id}/cancel': {
        post: {
          summary: 'Withdraw a held or ready call the agent will not run',
          description:
            "The framework's user refused the call, or the run ended before the tool ran: a held call's approval request is closed, a ready call is ended, both recorded `cancelled`, so no call is left without an outcome.",
          parameters: [CALL_ID],
          requestBody: { required: true, content: json(ref('CancelRequest')) },
          responses: {
            '200': {
              description: 'The call is ended (`denied`, outcome `cancelled`).',
              content: json(ref('CallState')),
            },
            '400': error('Not a valid cancellation (`{}` or `{"reason": "…"}`).'),
            '404': error('No such call of this agent in this session.'),
            '409': error('`not_ready`: the call has already ended.'),
            '415': error('The body is not `application/json`.'),
            ...AUTH_ERRORS,
          },
        },
      },
    },
    components: {
      securitySchemes: {
        agentCredential: {
          type: 'http',
          scheme: 'bearer',
          description: 'A Reins agent credential (`reins agents token`).',
        },
      },
      schemas: {
        OpenCallRequest: z.toJSONSchema(OpenCallRequestSchema, { io: 'input' }),
        OutcomeReport: z.toJSONSchema(OutcomeReportSchema),
        CancelRequest: z.toJSONSchema(CancelRequestSchema),
        CallState: z.toJSONSchema(CallStateSchema),
        Error: z.toJSONSchema(
          RemoteErrorSchema.extend({
            error: z.string().describe(`A stable code: ${Object.keys(CALL_REFUSAL_STATUS).join(', ')}, …`),
          }),
        ),
      },
    },
  };
}
