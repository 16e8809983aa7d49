// The Quick start's agent (README): an MCP client of the official SDK that connects to the example
// gateway with a Reins credential and makes the calls a careless assistant would, printing what Reins
// did with each. Usage, from the repository root: node examples/gateway/try-it.mjs <credential file>
// The gateway's address comes from examples/gateway/reins.yaml, so the two cannot disagree.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { parse } from 'yaml';

// An example key from the AWS documentation, as a user might paste it into a chat.
const PASTED_KEY = 'AKIAIOSFODNN7EXAMPLE';
// A held call waits for a human; the gateway gives up after limits.approvalTimeout (5 minutes here).
const APPROVAL_WAIT_MS = 6 * 60_000;

function gatewayUrl() {
  const config = parse(readFileSync(join(import.meta.dirname, 'reins.yaml'), 'utf8'));
  const { host = '127.0.0.1', port = 8788, path = '/mcp' } = config.listen ?? {};
  const control = config.control?.listen ?? {};
  return {
    mcp: new URL(`http://${host}:${port}${path}`),
    console: `http://${control.host ?? '127.0.0.1'}:${control.port ?? 8789}/`,
  };
}

function textOf(result) {
  return result.content
    .filter((part) => part.type === 'text')
    .map((part) => part.text)
    .join('\n');
}

function indent(text) {
  return text
    .trim()
    .split('\n')
    .map((line) => `     ${line}`)
    .join('\n');
}

/** Calls one tool and prints what came back (a refusal is an error result saying why). */
async function call(client, step, name, args, options = {}, held = () => false) {
  console.log(`\n${step}. ${name} ${JSON.stringify(args)}`);
  const result = await client.callTool({ name, arguments: args }, undefined, options);
  const verdict = result.isError ? 'error' : held() ? 'approved, then ran' : 'ok';
  console.log(`   -> ${verdict}:`);
  console.log(indent(textOf(result)));
}

async function main(credentialFile) {
  if (credentialFile === undefined) {
    throw new Error('usage: node examples/gateway/try-it.mjs <file with the agent credential>');
  }
  const credential = readFileSync(credentialFile, 'utf8').trim();
  const urls = gatewayUrl();
  const transport = new StreamableHTTPClientTransport(urls.mcp, {
    requestInit: { headers: { Authorization: `Bearer ${credential}` } },
  });
  const client = new Client({ name: 'reins-quickstart', version: '1.0.0' });
  await client.connect(transport);
  console.log(`connected to ${urls.mcp}`);

  const { tools } = await client.listTools();
  console.log(
    `\n1. the tools this agent sees (${tools.length}): ${tools.map((tool) => tool.name).join(', ')}`,
  );
  // the filesystem server names its directory (examples/gateway/work) on the last line
  const dirs = await client.callTool({ name: 'fs__list_allowed_directories', arguments: {} });
  if (dirs.isError) throw new Error(`cannot find the work directory: ${textOf(dirs)}`);
  const work = textOf(dirs).trim().split('\n').at(-1);

  // a file with a key in it: the agent gets the file, the key becomes a placeholder
  await call(client, 2, 'fs__read_text_file', { path: join(work, 'deploy-notes.md') });

  // a key pasted into the chat, saved to memory: the memory server never receives it
  await call(client, 3, 'memory__create_entities', {
    entities: [
      {
        name: 'deploy',
        entityType: 'project',
        observations: ['deploys on Tuesdays', `deploy key from the chat: ${PASTED_KEY}`],
      },
    ],
  });
  await call(client, 4, 'memory__read_graph', {});

  // refused by the policy: nothing reaches the filesystem server
  await call(client, 5, 'fs__move_file', {
    source: join(work, 'deploy-notes.md'),
    destination: join(work, 'old-notes.md'),
  });

  // held: the call waits until a human approves or denies it
  let told = false;
  await call(
    client,
    6,
    'fs__write_file',
    { path: join(work, 'summary.md'), content: 'Deploys run on Tuesdays from the release branch.\n' },
    {
      timeout: APPROVAL_WAIT_MS,
      resetTimeoutOnProgress: true,
      onprogress: ({ message }) => {
        if (told) return;
        told = true;
        console.log(`   ... held: ${message}`);
        console.log(`   ... approve it in the console, ${urls.console} (Approvals); this script waits`);
      },
    },
    () => told,
  );
  await client.close();
}

main(process.argv[2]).catch((error) => {
  console.error(`try-it: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
