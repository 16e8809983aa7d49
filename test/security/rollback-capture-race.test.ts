/**
 * Attack (issue 16): a call's capture is taken before its intent is recorded and its tool runs, with
 * nothing keeping other calls off the same path in between. An agent sends, at the same time,
 * `write_file(P)` for a path P that does not exist (captured "absent": its undo moves P to the trash)
 * and `move_file(important → P)`. When the move lands between the write's capture and the write, the
 * write replaces the important file's bytes, which no capture ever read: the rollback moves the
 * agent's junk to the trash, cannot move anything back, and the file's content is gone. The write was
 * decided `reversible`, so no reversible-or-approved rule held it. The agent retries until it lands.
 * Fixed: a call with a compensation holds its resources (the profile's `resources`, normalised) in its process from before its capture until its outcome is recorded, calls that capture nothing included (harness `holdResources`).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type RollbackDeployment, startRollbackDeployment } from '../support/rollback-deployment.js';

let running: RollbackDeployment | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
});

/** Every file's content under `root`, trash folders included. */
function everything(root: string, into: string[] = []): string[] {
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) everything(path, into);
    else into.push(readFileSync(path, 'utf8'));
  }
  return into;
}

describe('a concurrent call changes the path between a capture and the write', () => {
  it('cannot destroy a file that no capture read', async () => {
    running = await startRollbackDeployment();
    const { work } = running;
    const agent = await running.connect('race');
    const attempts = 12;
    // a large argument makes the write's intent slower to record after its capture
    const junk = 'x'.repeat(900_000);
    for (let attempt = 0; attempt < attempts; attempt++) {
      writeFileSync(join(work, `ledger-${attempt}.csv`), `ledger ${attempt}: the only copy\n`);
      const write = agent.callTool({
        name: 'fs__write_file',
        arguments: { path: join(work, `out-${attempt}.txt`), content: junk },
      });
      await new Promise((resolve) => setTimeout(resolve, attempt % 8));
      const move = agent.callTool({
        name: 'fs__move_file',
        arguments: {
          source: join(work, `ledger-${attempt}.csv`),
          destination: join(work, `out-${attempt}.txt`),
        },
      });
      await Promise.all([write, move]);
    }
    const run = running.rollback(['--session', 'race', '--reason', 'undo the agent']);
    const contents = everything(work);
    const lost: number[] = [];
    for (let attempt = 0; attempt < attempts; attempt++)
      if (!contents.includes(`ledger ${attempt}: the only copy\n`)) lost.push(attempt);
    // every ledger's bytes are somewhere (restored, or at worst in a trash folder); none was destroyed
    expect(
      lost,
      run.stdout
        .split('\n')
        .filter((line) => !line.startsWith('      '))
        .join('\n'),
    ).toEqual([]);
  }, 60_000);
});
