/**
 * @module cli/demo-command
 * `reins demo`: picks the checkpoint key as every audit command does, then runs the demo. The demo is
 * not part of the library: it lives in examples/demo/ and uses only the package's public entry points,
 * so it is imported at run time from its build (examples/demo/dist, written by `npm run build` and
 * shipped with the package), found relative to this module: src/cli/, dist/cli/ and the CLI's bundle
 * (dist/bundle/) all sit two levels below the package root.
 */
import type { KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CheckpointKeys } from '../audit/checkpoint.js';
import { describeError } from '../spec/errors.js';
import { checkpointSigningKey, type StoreOptions, verificationKey } from './audit-store.js';
import { importModule } from './import-module.js';
import { type CliIo, EXIT_ERROR } from './io.js';

const DEMO_MODULE = new URL('../../examples/demo/dist/run-demo.js', import.meta.url);

export type DemoCommandOptions = StoreOptions & { readonly db: string };

/** The one function the CLI calls in the demo's build (examples/demo/src/run-demo.ts). */
type RunDemo = (options: {
  readonly auditPath: string;
  readonly write: (line: string) => void;
  readonly signingKey: KeyObject;
  readonly publicKeys?: CheckpointKeys;
}) => Promise<number>;

export async function runDemoCommand(options: DemoCommandOptions, io: CliIo): Promise<number> {
  let signingKey: KeyObject;
  let runDemo: RunDemo;
  try {
    // the build first: a checkout that cannot run the demo creates no key
    runDemo = await loadDemo();
    signingKey = checkpointSigningKey(options, (line) => io.err(`reins demo: ${line}`));
  } catch (error) {
    io.err(`reins demo: ${describeError(error)}`);
    return EXIT_ERROR;
  }
  const publicKeys = verificationKey(options);
  io.out(
    `reins demo: writing the demo's own audit log ${options.db}, not the deployment's (which the console shows); read it with \`reins audit query --db ${options.db}\``,
  );
  return runDemo({ auditPath: options.db, signingKey, ...(publicKeys ? { publicKeys } : {}), write: io.out });
}

/** Imports the built demo; a checkout that was not built says so instead of failing on a stack trace. */
async function loadDemo(): Promise<RunDemo> {
  const path = fileURLToPath(DEMO_MODULE);
  if (!existsSync(path))
    throw new Error(`the demo is not built: \`${path}\` is missing (run \`npm run build\`)`);
  const module = await importModule(DEMO_MODULE.href);
  const runDemo = (module as { runDemo?: unknown }).runDemo;
  if (typeof runDemo !== 'function') throw new Error(`\`${path}\` does not export runDemo`);
  return runDemo as RunDemo;
}
