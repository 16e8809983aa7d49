/**
 * Attack (issue 16): the intent of every captured call records the plain sha256 of the raw captured
 * content, next to a view that gives its exact JSON shape (file URI, lengths, structure). Anyone who
 * reads the log (a viewer, `reins audit export`, an OTLP/SIEM pipeline) can confirm guesses offline:
 * a captured file with little unknown content (a PIN, a short password in a known config layout, an
 * account number) is recovered by hashing candidates. The agent only had to overwrite the file (it
 * never read it), so the capture is the only place this content reaches the log.
 * Fixed: the stored capture starts with 16 random bytes; the log holds the hash of that, which confirms no guess.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { callOk, type RollbackDeployment, startRollbackDeployment } from '../support/rollback-deployment.js';

let running: RollbackDeployment | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
});

interface Capture {
  hash: string;
  view: string;
}

describe("a capture's record", () => {
  it('does not let a reader of the log confirm guesses of the captured content', async () => {
    running = await startRollbackDeployment();
    const { work } = running;
    writeFileSync(join(work, 'vault.txt'), 'vault PIN for the ops team: 4821\n');
    const agent = await running.connect('run');
    await callOk(agent, 'fs__write_file', { path: join(work, 'vault.txt'), content: 'rotated\n' });

    // what a log reader has: the export
    const exported = running.reins('audit', 'export', '--format', 'jsonl');
    const capture = exported
      .split('\n')
      .filter((line) => line.includes('"captures"'))
      .map((line) => JSON.parse(line) as { event?: { reversal?: { captures?: Capture[] } } })
      .flatMap((record) => record.event?.reversal?.captures ?? [])[0] as Capture;
    expect(capture.hash).toMatch(/^[0-9a-f]{64}$/);

    // the view is the captured JSON with its encoded strings summarised: fill them back in and hash
    const mime = 'application/octet-stream'; // read_media_file's type for .txt: 24 characters
    let found: string | undefined;
    for (let pin = 0; pin < 10_000 && found === undefined; pin++) {
      const guess = `vault PIN for the ops team: ${String(pin).padStart(4, '0')}\n`;
      const candidate = capture.view
        .replaceAll('"(encoded, 24 characters)"', JSON.stringify(mime))
        .replaceAll('"(encoded, 44 characters)"', JSON.stringify(Buffer.from(guess).toString('base64')));
      if (createHash('sha256').update(candidate).digest('hex') === capture.hash) found = guess;
    }
    expect(found).toBeUndefined();
  }, 60_000);
});
