/**
 * @module spec/gateway-config
 * The gateway configuration file (`reins.yaml`, `kind: Gateway`): the upstream MCP servers it fronts,
 * the policy, the store, where it listens and its limits. Validated at start: a bad configuration stops
 * the gateway with a message that says what to change.
 */
import { z } from 'zod';
import { DEFAULT_CHECKPOINT_EVERY } from './audit-checkpoint.js';
import { ComplianceConfigSchema } from './compliance.js';
import { DurationSchema } from './duration.js';
import { OidcConfigSchema } from './oidc-config.js';
import { POLICY_API_VERSION } from './policy-document.js';

/** Upstream names become the `server` of every tool they provide (`fs` -> `fs/read_file`). */
export const UpstreamNameSchema = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]{0,31}$/,
    'upstream names are lowercase letters, digits and `-` (at most 32), starting with a letter',
  );

export const EnvNameSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'environment variable names are letters, digits and `_`');

/** A variable passed on from the gateway's environment: never one of Reins' own. */
export const InheritedEnvNameSchema = EnvNameSchema.refine((name) => !/^REINS_/i.test(name), {
  message: "Reins' own variables (`REINS_*`) are never passed to an upstream",
});

/**
 * A stdio upstream does not inherit the gateway's environment (gateway/upstream-env.ts): it gets a few
 * harmless variables (PATH, HOME, locale...), the ones named in `inheritEnv`, and the values in `env`.
 */
export const StdioUpstreamSchema = z.strictObject({
  name: UpstreamNameSchema,
  stdio: z.strictObject({
    command: z.string().min(1),
    args: z.array(z.string()).default([]),
    /** Explicit values. */
    env: z.record(EnvNameSchema, z.string()).default({}),
    /** Names passed on from the gateway's environment when set there (never `REINS_*`). */
    inheritEnv: z.array(InheritedEnvNameSchema).optional(),
    cwd: z.string().optional(),
  }),
});

/**
 * Connections open to one HTTP upstream at most, unless its `maxConnections` says otherwise: calls
 * past them wait for one (within their timeout), and its standalone event stream holds one.
 */
export const DEFAULT_MAX_UPSTREAM_CONNECTIONS = 128;

export const HttpUpstreamSchema = z.strictObject({
  name: UpstreamNameSchema,
  http: z.strictObject({
    url: z.url(),
    headers: z.record(z.string(), z.string()).default({}),
    /** Most connections open to it at once (default `DEFAULT_MAX_UPSTREAM_CONNECTIONS`). */
    maxConnections: z.number().int().min(2).optional(),
  }),
});

export const UpstreamConfigSchema = z.union([StdioUpstreamSchema, HttpUpstreamSchema]);
export type UpstreamConfig = z.infer<typeof UpstreamConfigSchema>;

/**
 * When an embedded-store audit append counts as written: `full` = fsync'd (survives a power cut),
 * `process` = handed to the operating system (survives a crash of Reins, not of the machine).
 */
export const AuditDurabilitySchema = z.enum(['causal', 'full', 'process']);
export type AuditDurability = z.infer<typeof AuditDurabilitySchema>;

const DEFAULT_MAX_SESSIONS = 1_000;
const DEFAULT_MAX_SESSIONS_PER_AGENT = 100;
const DEFAULT_SESSION_IDLE_TIMEOUT_MS = 30 * 60_000;

/**
 * Calls of one Reins session in flight to one upstream at once (`limits.maxUpstreamCallsPerSession`);
 * more wait their turn in that session's queue, holding no connection (gateway/session-share). Every
 * session's calls share the upstreams, and an HTTP upstream gets 128 connections: with 16, one session
 * can hold an eighth of them, and eight sessions, each keeping its whole share busy, to starve the rest.
 * Still plenty for an agent that runs a few tools in parallel.
 */
export const DEFAULT_MAX_UPSTREAM_CALLS_PER_SESSION = 16;

const HttpUrlSchema = z.url({ protocol: /^https?$/ });

/**
 * Signed audit checkpoints (decision 0012): the cadence writers sign at, and where every checkpoint is
 * published outside the database (any combination; none by default).
 */
export const AuditCheckpointsConfigSchema = z.strictObject({
  /** A checkpoint on every this many records; `reins audit verify --checkpoint-every` must match. */
  every: z.number().int().positive().default(DEFAULT_CHECKPOINT_EVERY),
  publish: z
    .strictObject({
      /** Directory (relative to this file) that `checkpoints.jsonl` is appended to, fsync'd. */
      directory: z.string().min(1).optional(),
      /** Receives each checkpoint as a JSON POST. */
      webhook: HttpUrlSchema.optional(),
      /** OTLP/HTTP logs endpoint, e.g. `http://127.0.0.1:4318/v1/logs`. */
      otlp: HttpUrlSchema.optional(),
    })
    .default({}),
});
export type AuditCheckpointsConfig = z.infer<typeof AuditCheckpointsConfigSchema>;

export const GatewayLimitsSchema = z.strictObject({
  /** Largest JSON-RPC message accepted from a client, in bytes. */
  maxMessageBytes: z.number().int().positive().default(1_048_576),
  /** How long an upstream may take to answer a call. */
  callTimeout: DurationSchema.default(60_000),
  /** How long a held call waits for human approval before it expires (= denied). */
  approvalTimeout: DurationSchema.default(300_000),
  /** Most calls of one agent waiting for approval at once (per process); one more is refused and recorded. */
  maxPendingApprovalsPerAgent: z.number().int().positive().default(20),
  /** Open MCP sessions over Streamable HTTP, all agents together; an initialize past it is refused. */
  maxSessions: z.number().int().positive().default(DEFAULT_MAX_SESSIONS),
  /** Open MCP sessions of one agent. */
  maxSessionsPerAgent: z.number().int().positive().default(DEFAULT_MAX_SESSIONS_PER_AGENT),
  /** An MCP session without a request for this long is closed (its client must initialize again). */
  sessionIdleTimeout: DurationSchema.default(DEFAULT_SESSION_IDLE_TIMEOUT_MS),
  /** Calls of one Reins session in flight to one upstream at once; more wait their turn (within their timeout). */
  maxUpstreamCallsPerSession: z.number().int().positive().default(DEFAULT_MAX_UPSTREAM_CALLS_PER_SESSION),
});

/** The control plane of `reins serve`: HTTP API and web console (users live in the store). */
export const ControlConfigSchema = z.strictObject({
  listen: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65_535).default(8789),
    })
    .default({ host: '127.0.0.1', port: 8789 }),
  /** Console sessions end after this much inactivity. */
  sessionTtl: DurationSchema.default(8 * 3_600_000),
  /** Mark the console cookie `Secure`: set when the console is reached over HTTPS (e.g. behind a TLS proxy). */
  secureCookies: z.boolean().default(false),
  /** Sign-in through an OpenID Connect provider, beside the API tokens (spec/oidc-config). */
  oidc: OidcConfigSchema.optional(),
});
export type ControlConfig = z.infer<typeof ControlConfigSchema>;

/**
 * Where a signing key comes from (decision 0011); never the store. `directory`: a key directory
 * (0700) with the current private key (0600) and retired public keys, rotated with `reins keys rotate`;
 * `file`: one private key file (0600); `env`: the name of an environment variable holding a PKCS#8 PEM.
 */
export const KeySourceSchema = z.union([
  z.strictObject({ directory: z.string().min(1) }),
  z.strictObject({ file: z.string().min(1) }),
  z.strictObject({
    env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name (A-Z, 0-9, _)'),
  }),
]);
export type KeySource = z.infer<typeof KeySourceSchema>;

/**
 * The two keys Reins signs with, configured separately. Default: `.reins-keys/<purpose>` here, on the
 * embedded store only; on a shared store every process names the same ones (decision 0011, issue 14).
 */
export const KeysConfigSchema = z.strictObject({
  /** Signs agent credentials. */
  credentials: KeySourceSchema.optional(),
  /** Signs audit checkpoints. */
  checkpoints: KeySourceSchema.optional(),
});
export type KeysConfig = z.infer<typeof KeysConfigSchema>;

/**
 * Traces of every call (OpenTelemetry, exported over OTLP/HTTP JSON): off unless an endpoint is
 * configured here or in OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (telemetry/tracing). Spans carry names and
 * ids, never argument values, results or secrets.
 */
export const TracesConfigSchema = z.strictObject({
  otlp: z
    .strictObject({
      /** OTLP/HTTP traces endpoint, e.g. `http://collector:4318/v1/traces`. */
      endpoint: HttpUrlSchema,
      /** Sent with every export (e.g. an authorization header of the collector). */
      headers: z.record(z.string(), z.string()).default({}),
    })
    .optional(),
  /** Share of calls without a sampled parent that are traced (a client's sampling decision is kept). */
  sampleRatio: z.number().min(0).max(1).default(1),
  /** The `service.name` of the spans. */
  serviceName: z.string().min(1).default('reins'),
});
export type TracesConfig = z.infer<typeof TracesConfigSchema>;

/** `reins.yaml` as written, before the checks that read more than one of its settings. */
const GatewayConfigFieldsSchema = z.strictObject({
  apiVersion: z.literal(POLICY_API_VERSION),
  kind: z.literal('Gateway'),
  /** Policy file or directory, relative to this file. */
  policy: z.string().min(1),
  /** Embedded store file (relative to this file), unless `databaseUrl` or REINS_DATABASE_URL is set. */
  store: z
    .strictObject({
      sqlite: z.string().default('.reins/audit.db'),
      databaseUrl: z.string().optional(),
      /**
       * Embedded store only. `causal` (default): a call's intent is fsync'd before its tool runs, its
       * outcome once it is written, before the session's next decision and within a few milliseconds
       * (docs/decisions/0028-causal-durability.md). `full`: every commit is fsync'd before the call goes
       * on, the outcome before the result is released too. `process`: commits reach the operating
       * system without an fsync each; they survive a crash of Reins but not of the machine
       * (docs/decisions/0010-audit-durability.md).
       */
      durability: AuditDurabilitySchema.default('causal'),
    })
    .default({ sqlite: '.reins/audit.db', durability: 'causal' }),
  /** Signing keys: kept apart from the store (relative paths: to this file). */
  keys: KeysConfigSchema.default({}),
  /** MCP servers behind the gateway; none for a gateway that serves only the remote protocol (`/v1/calls`). */
  upstreams: z.array(UpstreamConfigSchema).default([]),
  /** Tool definition pins (relative to this file); commit it so that a changed tool is caught. */
  lock: z.string().default('reins.lock'),
  listen: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65_535).default(8788),
      path: z.string().default('/mcp'),
    })
    .default({ host: '127.0.0.1', port: 8788, path: '/mcp' }),
  /** Used by `reins serve` (ignored by `reins gateway`). */
  control: ControlConfigSchema.default({
    listen: { host: '127.0.0.1', port: 8789 },
    sessionTtl: 8 * 3_600_000,
    secureCookies: false,
  }),
  audit: z
    .strictObject({
      checkpoints: AuditCheckpointsConfigSchema.default({ every: DEFAULT_CHECKPOINT_EVERY, publish: {} }),
    })
    .default({ checkpoints: { every: DEFAULT_CHECKPOINT_EVERY, publish: {} } }),
  /** Telemetry the gateway sends out: traces of every call (none by default). */
  telemetry: z.strictObject({ traces: TracesConfigSchema.optional() }).default({}),
  /** Continuous compliance: thresholds of `reins compliance scan`, and the scan `reins serve` runs `every` (spec/compliance). */
  compliance: ComplianceConfigSchema.optional(),
  /** Human approval of held calls: optional webhook told about each new request (JSON POST). */
  approvals: z.strictObject({ webhook: z.url({ protocol: /^https?$/ }).optional() }).default({}),
  /** Where the runtime monitor's findings are posted as JSON (the rules are the policy's `monitor:`). */
  monitor: z.strictObject({ webhook: z.url({ protocol: /^https?$/ }).optional() }).default({}),
  limits: GatewayLimitsSchema.default({
    maxMessageBytes: 1_048_576,
    callTimeout: 60_000,
    approvalTimeout: 300_000,
    maxPendingApprovalsPerAgent: 20,
    maxSessions: DEFAULT_MAX_SESSIONS,
    maxSessionsPerAgent: DEFAULT_MAX_SESSIONS_PER_AGENT,
    sessionIdleTimeout: DEFAULT_SESSION_IDLE_TIMEOUT_MS,
    maxUpstreamCallsPerSession: DEFAULT_MAX_UPSTREAM_CALLS_PER_SESSION,
  }),
});

export const GatewayConfigSchema = GatewayConfigFieldsSchema.superRefine((config, context) => {
  config.upstreams.forEach((upstream, index) => {
    const message = sharedConnectionsProblem(upstream, config.limits);
    if (message !== undefined)
      context.addIssue({ code: 'custom', path: ['upstreams', index, 'http', 'maxConnections'], message });
  });
});
export type GatewayConfig = z.infer<typeof GatewayConfigSchema>;

/**
 * An HTTP upstream whose connections one session's share could fill (its event stream holds one too)
 * is what the share is there to prevent: refused at start, with what to change.
 */
function sharedConnectionsProblem(
  upstream: UpstreamConfig,
  limits: { readonly maxUpstreamCallsPerSession: number },
): string | undefined {
  if (!('http' in upstream)) return undefined;
  const connections = upstream.http.maxConnections ?? DEFAULT_MAX_UPSTREAM_CONNECTIONS;
  const share = limits.maxUpstreamCallsPerSession;
  if (connections > share + 1) return undefined;
  return `${connections} connections leave nothing to other sessions once one session has its ${share} calls in flight (\`limits.maxUpstreamCallsPerSession\`) and the event stream its one: give more than ${share + 1}, or lower the share`;
}

/** MCP tool names the gateway shows: `<upstream>__<tool>` (MCP names allow letters, digits, `_` and `-`). */
export const TOOL_NAME_SEPARATOR = '__';
