/**
 * @module export/checkpoint-publisher.test
 * Publishing checkpoints outside the database: to a directory that `reins audit verify --checkpoints`
 * reads back, and to a real HTTP webhook that fails for a while (nothing is dropped, order is kept,
 * the failure and the recovery are reported), and what close says about checkpoints it could not publish.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointSigner } from '../audit/checkpoint.js';
import type { AuditCheckpointV1 } from '../spec/audit-checkpoint.js';
import { PUBLISHED_CHECKPOINTS_FILE, readCheckpoints } from './checkpoint-file.js';
import { CheckpointPublisher, checkpointTargets, webhookTarget } from './checkpoint-publisher.js';

const signer = new CheckpointSigner(generateKeyPairSync('ed25519').privateKey);
const checkpoint = (seq: number) => signer.sign(seq, seq.toString(16).padStart(64, '0'), new Date());

let directory: string | undefined;
let server: Server | undefined;
afterEach(async () => {
  if (directory) rmSync(directory, { recursive: true, force: true });
  directory = undefined;
  // fetch keeps its connection alive: close it too, or close() waits for it
  server?.closeAllConnections();
  await new Promise((done) => (server ? server.close(done) : done(undefined)));
  server = undefined;
});

/** A webhook answering 503 to its first `failures` requests; resolves `received` once `expected` arrived. */
async function flakyWebhook(failures: number, expected: number) {
  const accepted: AuditCheckpointV1[] = [];
  let requests = 0;
  let done: () => void = () => {};
  const received = new Promise<void>((resolve) => {
    done = resolve;
  });
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      requests++;
      if (requests <= failures) {
        response.writeHead(503).end();
        return;
      }
      accepted.push(...(JSON.parse(body) as { checkpoints: AuditCheckpointV1[] }).checkpoints);
      response.writeHead(204).end();
      if (accepted.length >= expected) done();
    });
  });
  await new Promise<void>((listening) => server?.listen(0, '127.0.0.1', listening));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/checkpoints`, accepted, received };
}

describe('CheckpointPublisher', () => {
  it('appends each checkpoint to the directory, where verify reads them back', async () => {
    directory = mkdtempSync(join(tmpdir(), 'reins-publish-'));
    const published = join(directory, 'published');
    const publisher = new CheckpointPublisher({
      targets: checkpointTargets({ directory: published }),
      log: () => {},
    });
    for (const seq of [1000, 2000, 2345]) publisher.publish(checkpoint(seq));
    await publisher.close();
    const lines = readFileSync(join(published, PUBLISHED_CHECKPOINTS_FILE), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(readCheckpoints([published]).map((read) => read.seq)).toEqual([1000, 2000, 2345]);
  });

  it('keeps what a failing webhook did not take and delivers it, in order, once it answers', async () => {
    const webhook = await flakyWebhook(2, 3);
    const lines: string[] = [];
    const publisher = new CheckpointPublisher({
      targets: [webhookTarget(webhook.url)],
      log: (line) => lines.push(line),
      retryInitialMs: 1,
    });
    for (const seq of [10, 20, 30]) publisher.publish(checkpoint(seq));
    await webhook.received;
    expect(webhook.accepted.map((accepted) => accepted.seq)).toEqual([10, 20, 30]);
    await publisher.close();
    expect(publisher.pending).toBe(0);
    expect(lines[0]).toMatch(
      /publication to webhook .* failed \(\d waiting, the oldest for record 10\): .*HTTP 503/,
    );
    expect(lines.at(-1)).toMatch(/recovered/);
  });

  it('names the checkpoints it could not publish when it closes', async () => {
    const webhook = await flakyWebhook(Number.POSITIVE_INFINITY, 1);
    const lines: string[] = [];
    const publisher = new CheckpointPublisher({
      targets: [webhookTarget(webhook.url)],
      log: (line) => lines.push(line),
      retryInitialMs: 60_000,
    });
    publisher.publish(checkpoint(7));
    publisher.publish(checkpoint(9));
    await publisher.close();
    expect(publisher.pending).toBe(2);
    expect(lines.at(-1)).toMatch(/NOT PUBLISHED to webhook .*: records 7, 9/);
  });

  it('refuses a publication directory it cannot create, before anything is signed', () => {
    directory = mkdtempSync(join(tmpdir(), 'reins-publish-'));
    const file = join(directory, 'a-file');
    writeFileSync(file, '');
    expect(() => checkpointTargets({ directory: join(file, 'published') })).toThrow(
      /cannot publish audit checkpoints/,
    );
  });
});
