/**
 * @module test/security/tracing-attack-endpoint-credentials.test
 * Fixed: an endpoint refused from the environment is named by its variable and scheme only (telemetry/tracing.ts).
 * Finding (secrets in logs): the OTLP endpoint often carries a credential (SaaS collectors take
 * `https://tenant:token@...` or a token in the query). When tracing starts, the log line names only
 * origin and path (telemetry/tracing `targetOf`). But an endpoint from the environment that is not
 * http(s) (`grpcs://` is the common mistake: OTLP/gRPC is the default elsewhere) is refused with the
 * whole URL quoted, credentials included, on stderr: the MCP client's log file, the gateway's journal.
 * Expected safe behaviour: the refusal names the variable and the scheme (or the URL without userinfo
 * and query), never the credential.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { reinsIn } from '../support/deployment-fixture.js';

let directory: string | undefined;
afterAll(() => {
  if (directory) rmSync(directory, { recursive: true, force: true });
});

it('a refused OTLP endpoint is not echoed with its credentials', () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-otlp-cred-'));
  writeFileSync(
    join(directory, 'policy.yaml'),
    'apiVersion: reins.dev/v1\nkind: Policy\nmetadata: { name: p }\ntools: []\nrules: []\n',
  );
  const run = reinsIn(
    directory,
    {
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT:
        'grpcs://tenant:s3cr3t-token@collector.example:4317/?api_key=k3y-in-query',
    },
    'mcp',
    '--agent',
    'desk',
    '--policy',
    'policy.yaml',
    '--db',
    'x.db',
    '--lock',
    'x.lock',
    '--name',
    'local',
    '--',
    '/bin/true',
  );
  expect(run.code).not.toBe(0);
  expect(run.stderr).toContain('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  // today: "invalid OTEL_EXPORTER_OTLP_TRACES_ENDPOINT `grpcs://tenant:s3cr3t-token@collector...`"
  expect(run.stderr).not.toContain('s3cr3t-token');
  expect(run.stderr).not.toContain('k3y-in-query');
}, 30_000);
