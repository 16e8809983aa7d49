/**
 * @module gateway/token-exchange
 * `POST /v1/token` on the gateway's listener: OAuth 2.0 Token Exchange (RFC 8693) for agents. An agent
 * presents its Reins credential as `subject_token` and gets a credential for another agent (`audience`)
 * to carry out a task of its own (`task`), only ever narrower: the same delegation as `reins agents
 * delegate` (Authenticator.delegate, identity/delegation), which verifies the subject token exactly as
 * every `/mcp` request is verified (signature, expiry, revocations, the standing of every agent on the
 * chain) and records refusals. This module only reads the form, maps it onto that call and answers in
 * the RFC's shapes: the token response of RFC 8693 §2.2.1, errors of RFC 6749 §5.2 (status 400, no
 * token material in the text). Agent-facing, so it lives here, not on the control listener (decision
 * 0009). The body is read up to a fixed bound and refused beyond it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Authenticator, CredentialError, DelegatingCredentialRefused } from '../auth/authenticator.js';
import { describeError } from '../spec/errors.js';
import { parseScopeClaim } from '../spec/scopes.js';
import { readBody } from './http-io.js';

export const TOKEN_EXCHANGE_PATH = '/v1/token';
/** Largest request body read: a delegated credential, a task and a few parameters fit many times. */
export const MAX_TOKEN_REQUEST_BYTES = 16 * 1024;

const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
/** A Reins credential is a JWT used as a bearer access token: either name fits it. */
const CREDENTIAL_TOKEN_TYPES = new Set([ACCESS_TOKEN_TYPE, JWT_TYPE]);
/** Whole seconds, at most nine digits (the lifetime is capped by the parent's far below that). */
const TTL_PATTERN = /^[1-9][0-9]{0,8}$/;

type OAuthError =
  | 'invalid_request'
  | 'invalid_scope'
  | 'invalid_target'
  | 'unsupported_grant_type'
  | 'server_error';

/** A refusal in RFC 6749 §5.2 terms. */
class TokenRequestError extends Error {
  constructor(
    readonly error: OAuthError,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export interface TokenExchangeOptions {
  readonly authenticator: Authenticator;
  readonly log?: (line: string) => void;
}

/** Answers one request to `TOKEN_EXCHANGE_PATH`; never throws. */
export async function handleTokenExchange(
  request: IncomingMessage,
  response: ServerResponse,
  options: TokenExchangeOptions,
): Promise<void> {
  let subjectToken = '';
  try {
    const form = await readForm(request, response);
    subjectToken = form.get('subject_token') ?? '';
    const exchange = exchangeRequest(form);
    const issued = await delegate(options.authenticator, exchange);
    send(response, 200, {
      access_token: issued.token,
      issued_token_type: exchange.issuedTokenType,
      token_type: 'Bearer',
      expires_in: issued.claims.exp - issued.claims.iat,
      scope: issued.claims.scope,
    });
  } catch (error) {
    const refusal =
      error instanceof TokenRequestError
        ? error
        : new TokenRequestError('server_error', 'the credential could not be issued', 500);
    if (refusal.error === 'server_error') options.log?.(`token exchange failed: ${describeError(error)}`);
    send(response, refusal.status, {
      error: refusal.error,
      error_description: withoutToken(refusal.message, subjectToken),
    });
  }
}

interface ExchangeRequest {
  readonly subjectToken: string;
  readonly agentId: string;
  readonly task: string;
  readonly scopes?: string[];
  readonly sessionId?: string;
  readonly ttlSeconds?: number;
  readonly issuedTokenType: string;
}

/** The parameters of RFC 8693 §2.1 as Reins reads them, plus its own `task`, `session` and `ttl`. */
function exchangeRequest(form: Form): ExchangeRequest {
  const grant = form.get('grant_type');
  if (grant === undefined) throw invalid('`grant_type` is required');
  if (grant !== TOKEN_EXCHANGE_GRANT)
    throw new TokenRequestError(
      'unsupported_grant_type',
      `only the token exchange grant (\`${TOKEN_EXCHANGE_GRANT}\`) is served here`,
    );
  if (form.get('actor_token') !== undefined || form.get('actor_token_type') !== undefined)
    throw invalid('`actor_token` is not supported: the subject token delegates, `audience` names the agent');
  const subjectToken = form.get('subject_token');
  if (subjectToken === undefined) throw invalid('`subject_token` (your Reins credential) is required');
  const subjectType = form.get('subject_token_type');
  if (subjectType === undefined || !CREDENTIAL_TOKEN_TYPES.has(subjectType))
    throw invalid(`\`subject_token_type\` must be \`${JWT_TYPE}\` or \`${ACCESS_TOKEN_TYPE}\``);
  const requestedType = form.get('requested_token_type');
  if (requestedType !== undefined && !CREDENTIAL_TOKEN_TYPES.has(requestedType))
    throw invalid(`\`requested_token_type\` must be \`${JWT_TYPE}\` or \`${ACCESS_TOKEN_TYPE}\``);
  if (form.get('resource') !== undefined)
    throw new TokenRequestError(
      'invalid_target',
      'name the agent the task is for with `audience`, not `resource`',
    );
  const agentId = form.get('audience');
  if (agentId === undefined) throw invalid('`audience` (the agent the task is delegated to) is required');
  const task = form.get('task');
  if (task === undefined) throw invalid('`task` (what the delegated agent is to do) is required');
  const scope = form.get('scope');
  const scopes = scope === undefined ? undefined : parseScopeClaim(scope);
  if (scopes === undefined && scope !== undefined)
    throw new TokenRequestError(
      'invalid_scope',
      '`scope` must be scopes (`server/name`, `crm/*`, `*`) separated by single spaces',
    );
  const ttl = form.get('ttl');
  if (ttl !== undefined && !TTL_PATTERN.test(ttl)) throw invalid('`ttl` must be a whole number of seconds');
  const sessionId = form.get('session');
  return {
    subjectToken,
    agentId,
    task,
    issuedTokenType: requestedType ?? ACCESS_TOKEN_TYPE,
    ...(scopes !== undefined ? { scopes } : {}),
    ...(sessionId !== undefined ? { sessionId } : {}),
    ...(ttl !== undefined ? { ttlSeconds: Number(ttl) } : {}),
  };
}

/** The one delegation path; its refusals in RFC terms. */
async function delegate(authenticator: Authenticator, exchange: ExchangeRequest) {
  try {
    return await authenticator.delegate(exchange.subjectToken, {
      agentId: exchange.agentId,
      task: exchange.task,
      ...(exchange.scopes !== undefined ? { scopes: exchange.scopes } : {}),
      ...(exchange.sessionId !== undefined ? { sessionId: exchange.sessionId } : {}),
      ...(exchange.ttlSeconds !== undefined ? { ttlSeconds: exchange.ttlSeconds } : {}),
    });
  } catch (error) {
    if (!(error instanceof CredentialError)) throw error;
    // RFC 8693 §2.2.2: an invalid or unacceptable subject token is `invalid_request`
    if (error instanceof DelegatingCredentialRefused) throw invalid(error.message);
    if (error.code === 'scope_not_held') throw new TokenRequestError('invalid_scope', error.message);
    if (error.code === 'unknown_agent' || error.code === 'agent_not_active')
      throw new TokenRequestError('invalid_target', error.message);
    throw invalid(error.message); // outlives the parent, too deep, a session it is delegated from
  }
}

function invalid(message: string): TokenRequestError {
  return new TokenRequestError('invalid_request', message);
}

/** Form parameters; an empty one counts as absent (RFC 6749 §3.1), a repeated one is refused. */
interface Form {
  get(name: string): string | undefined;
}

async function readForm(request: IncomingMessage, response: ServerResponse): Promise<Form> {
  if (request.method !== 'POST') {
    response.setHeader('allow', 'POST');
    throw new TokenRequestError('invalid_request', 'use POST', 405);
  }
  const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded')
    throw invalid('send the parameters as `application/x-www-form-urlencoded`');
  const body = await readBounded(request, response);
  const parameters = new URLSearchParams(body);
  for (const name of new Set(parameters.keys()))
    if (parameters.getAll(name).length > 1) throw invalid(`parameter \`${name}\` is given more than once`);
  return { get: (name) => parameters.get(name) || undefined };
}

async function readBounded(request: IncomingMessage, response: ServerResponse): Promise<string> {
  const read = await readBody(request, response, MAX_TOKEN_REQUEST_BYTES);
  if (read.kind === 'ok') return read.text;
  throw new TokenRequestError(
    'invalid_request',
    `the request is larger than ${MAX_TOKEN_REQUEST_BYTES} bytes`,
    413,
  );
}

/** Belt and braces: no part of the presented credential is ever sent back. */
function withoutToken(text: string, token: string): string {
  let clean = text;
  for (const part of [token, ...token.split('.')])
    if (part.length >= 8) clean = clean.replaceAll(part, '[credential]');
  return clean;
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.statusCode = status;
  response.setHeader('content-type', 'application/json');
  // RFC 6749 §5.1: responses holding credentials are never cached
  response.setHeader('cache-control', 'no-store');
  response.setHeader('pragma', 'no-cache');
  response.end(JSON.stringify(body));
}
