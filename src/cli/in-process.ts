/**
 * @module cli/in-process
 * Reins inside the application (`reins/in-process`): the gateway process of a reins.yaml — policy,
 * store, keys, durable approvals, authenticator — without a listener, for the adapters' in-process mode
 * (`LocalGovernor`). The application then holds the store and the keys: a compromised agent in the same
 * process could reach the record. SECURITY.md states this trust model; the remote protocol avoids it.
 */
import type { Authenticator } from '../auth/authenticator.js';
import type { Harness } from '../harness/harness.js';
import { loadConfigOrThrow } from './deployment.js';
import { startInProcessGateway } from './gateway-process.js';

export interface InProcessReins {
  readonly harness: Harness;
  readonly authenticator: Authenticator;
  /** Waits for the outcome of every call under way, then closes the stores. */
  close(): Promise<void>;
}

export interface InProcessOptions {
  /** The deployment's reins.yaml (its store, keys and policy are used as `reins gateway` would). */
  readonly config: string;
  /** Where the gateway's log lines go (default: standard error). */
  readonly log?: (line: string) => void;
}

export async function openInProcessReins(options: InProcessOptions): Promise<InProcessReins> {
  const { config, directory } = loadConfigOrThrow(options.config);
  const log = options.log ?? ((line: string) => process.stderr.write(`reins: ${line}\n`));
  const running = await startInProcessGateway(config, directory, log);
  return {
    harness: running.harness,
    authenticator: running.callers.authenticator,
    close: () => running.close(),
  };
}
