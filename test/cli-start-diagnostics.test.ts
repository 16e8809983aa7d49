/**
 * @module test/cli-start-diagnostics.test
 * A gateway that cannot start says why, the same way whichever command starts it (issue 12):
 * `reins gateway` printed only "is invalid:" for a bad policy, while `reins serve` printed the
 * file:line:column and the reason. Both now print the whole diagnostic, through one start path.
 */
import { rmSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { createDeployment, elsewhere, reinsIn } from './support/deployment-fixture.js';

const deployment = createDeployment({
  policy: `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: broken }
rules:
  - { id: r1, effect: allow, reason: fine, colour: blue }
`,
});
const away = elsewhere();

afterAll(() => {
  rmSync(deployment.directory, { recursive: true, force: true });
  rmSync(away, { recursive: true, force: true });
});

it('reins gateway and reins serve print the same full diagnostic for an invalid policy', () => {
  const gateway = reinsIn(away, {}, 'gateway', '--config', deployment.config);
  const serve = reinsIn(away, {}, 'serve', '--config', deployment.config);
  for (const run of [gateway, serve]) {
    expect(run.stderr).toContain(`${deployment.policy}:5:`);
    expect(run.stderr).toMatch(/colour/);
    expect(run.code).toBe(2);
  }
  const withoutCommand = (text: string) => text.replace(/^reins (gateway|serve): /gm, '');
  expect(withoutCommand(gateway.stderr)).toBe(withoutCommand(serve.stderr));
});
