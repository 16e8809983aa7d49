/**
 * @module spec/ops
 * What a running deployment says about itself to the platform around it (issue 17): liveness,
 * readiness (policy loaded, store writable, every upstream connected), the health of each upstream,
 * and its Prometheus metrics. Served on both listeners (the gateway's and the control plane's) as
 * `/healthz`, `/readyz` and `/metrics`; the console's dashboard reads the upstream health too. The
 * composition root (cli) builds the one `OpsStatus` of a process; gateway and api only serve it.
 */

/** One condition readiness depends on. */
export interface ReadinessCheck {
  /** `policy`, `store`, or `upstream:<name>`. */
  readonly name: string;
  readonly ok: boolean;
  /** Why it is not ok (or what it is), for a human reading `/readyz`. */
  readonly detail?: string;
}

/** Ready: every check ok. */
export interface Readiness {
  readonly ready: boolean;
  readonly checks: readonly ReadinessCheck[];
}

/** An upstream MCP server as the gateway sees it now. */
export interface UpstreamHealth {
  readonly name: string;
  readonly connected: boolean;
  /** Reconnections since the process started. */
  readonly restarts: number;
  /** When it last connected or went away (ISO 8601), if ever. */
  readonly since?: string;
  readonly lastError?: string;
}

/** Prometheus text exposition (`text/plain; version=0.0.4`). */
export interface MetricsText {
  readonly contentType: string;
  readonly body: string;
}

/** The operational status of one process, as both listeners serve it. */
export interface OpsStatus {
  readiness(): Promise<Readiness>;
  upstreams(): readonly UpstreamHealth[];
  metrics(): Promise<MetricsText>;
}
