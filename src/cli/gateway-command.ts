/**
 * @module cli/gateway-command
 * `reins gateway --config reins.yaml`: the MCP gateway for remote agents over Streamable HTTP. Starts
 * every upstream, checks the configuration and the policy before listening, and shuts down cleanly
 * on SIGINT/SIGTERM (pending audit records are flushed).
 */
import { loadGatewayConfig } from '../loader/gateway-config-file.js';
import { formatProblem } from '../policy/policy-problem.js';
import { describeError } from '../spec/errors.js';
import { startGatewayProcess } from './gateway-process.js';
import { type CliIo, EXIT_ERROR, EXIT_OK } from './io.js';

export async function runHttpGateway(
  options: { config: string },
  io: CliIo,
  stop?: AbortSignal,
): Promise<number> {
  const log = (line: string) => io.err(`reins gateway: ${line}`);
  const loaded = loadGatewayConfig(options.config);
  if (!loaded.ok) {
    for (const problem of loaded.problems) io.err(formatProblem(problem));
    return EXIT_ERROR;
  }
  let running: Awaited<ReturnType<typeof startGatewayProcess>>;
  try {
    running = await startGatewayProcess(loaded.config, loaded.directory, log);
  } catch (error) {
    log(describeError(error));
    return EXIT_ERROR;
  }
  io.out(
    `reins gateway listening on ${running.endpoint} (${running.upstreams.map((upstream) => `${upstream.name}: ${upstream.listTools().length} tools`).join(', ')})`,
  );
  await waitForStop(stop);
  log('shutting down');
  await running.close();
  return EXIT_OK;
}

/** Resolves on SIGINT, SIGTERM or when `stop` aborts. */
export function waitForStop(stop?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    stop?.addEventListener('abort', done, { once: true });
  });
}
