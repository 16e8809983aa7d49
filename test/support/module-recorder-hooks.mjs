// The load hook of test/support/module-recorder.mjs (it runs on the loader's own thread).
import { appendFileSync } from 'node:fs';

const log = process.env.REINS_TEST_MODULE_LOG;

export async function load(url, context, nextLoad) {
  if (log) appendFileSync(log, `${url}\n`);
  return nextLoad(url, context);
}
