// The rollback example's agent (examples/rollback/README.md): a release bot, an MCP client of the
// official SDK, that connects to the example gateway with a Reins credential and "prepares the 2.0
// release" of the sample project, badly: it overwrites the configuration, edits the README, moves files,
// creates junk, and tries to replace the logo. It prints what Reins did with each call.
// Usage, from the repository root: node examples/rollback/agent.mjs <credential file>
// The gateway's address comes from examples/rollback/reins.yaml, so the two cannot disagree.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { parse } from 'yaml';

/** How long the bot waits for a call that is held for a human before it gives up on it. */
const PATIENCE_MS = 3_000;

function gatewayUrl() {
  const config = parse(readFileSync(join(import.meta.dirname, 'reins.yaml'), 'utf8'));
  const { host = '127.0.0.1', port = 8794, path = '/mcp' } = config.listen ?? {};
  return new URL(`http://${host}:${port}${path}`);
}

function textOf(result) {
  return result.content
    .filter((part) => part.type === 'text')
    .map((part) => part.text)
    .join('\n')
    .trim();
}

/** The arguments as the bot prints them: paths relative to the project. */
function shown(args, project) {
  return JSON.stringify(args).replaceAll(`${project}/`, '');
}

/** One call, printed with what came back; a call held for a human is given up after PATIENCE_MS. */
async function call(client, project, step, name, args) {
  console.log(`${step}. ${name} ${shown(args, project)}`);
  let waiting;
  try {
    const result = await client.callTool({ name, arguments: args }, undefined, {
      timeout: PATIENCE_MS,
      onprogress: (progress) => {
        waiting = progress.message;
      },
    });
    console.log(result.isError ? `   -> error: ${textOf(result)}` : '   -> ok');
  } catch (error) {
    if (waiting === undefined) throw error;
    console.log(`   -> held: ${waiting}`);
    console.log(`      (the bot does not wait for a human and moves on: the call does not run)`);
  }
}

async function main(credentialFile) {
  if (credentialFile === undefined) {
    throw new Error('usage: node examples/rollback/agent.mjs <file with the agent credential>');
  }
  const credential = readFileSync(credentialFile, 'utf8').trim();
  const url = gatewayUrl();
  const transport = new StreamableHTTPClientTransport(url, {
    requestInit: { headers: { Authorization: `Bearer ${credential}` } },
  });
  const client = new Client({ name: 'release-bot', version: '1.0.0' });
  await client.connect(transport);
  console.log(`connected to ${url}`);
  // the filesystem server names its directory (the copy of the project) on the last line
  const dirs = await client.callTool({ name: 'fs__list_allowed_directories', arguments: {} });
  if (dirs.isError) throw new Error(`cannot find the project: ${textOf(dirs)}`);
  const project = textOf(dirs).split('\n').at(-1);
  const at = (path) => join(project, path);

  await call(client, project, 1, 'fs__write_file', {
    path: at('config/app.yaml'),
    content: 'service: billing\nreplicas: 0\ndebug: true\n',
  });
  await call(client, project, 2, 'fs__edit_file', {
    path: at('README.md'),
    edits: [{ oldText: 'Status: stable.', newText: 'Status: deprecated, replaced by billing-2.' }],
  });
  await call(client, project, 3, 'fs__create_directory', { path: at('docs/archive') });
  await call(client, project, 4, 'fs__move_file', {
    source: at('docs/runbook.md'),
    destination: at('docs/archive/runbook.md'),
  });
  await call(client, project, 5, 'fs__move_file', {
    source: at('data/rates.csv'),
    destination: at('data/rates-old.csv'),
  });
  await call(client, project, 6, 'fs__create_directory', { path: at('tmp') });
  await call(client, project, 7, 'fs__write_file', {
    path: at('tmp/build-1.log'),
    content: 'build failed\n',
  });
  await call(client, project, 8, 'fs__write_file', {
    path: at('tmp/build-2.log'),
    content: 'build failed again\n',
  });
  await call(client, project, 9, 'fs__write_file', {
    path: at('NOTES-2.0.md'),
    content: '# 2.0\n\nTODO: everything\n',
  });
  // an image: write_file could not put its bytes back, so Reins holds this one for a human
  await call(client, project, 10, 'fs__write_file', {
    path: at('assets/logo.png'),
    content: 'billing-2 logo',
  });
  await client.close();
}

await main(process.argv[2]);
