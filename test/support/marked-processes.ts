/**
 * @module test/support/marked-processes
 * Finds the processes a test started, wherever they have been reparented: each carries a unique mark in
 * its environment (`LIFECYCLE_MARK=<token>`), which `/proc/<pid>/environ` shows for the life of the
 * process. Walking the tree from the test would miss exactly the orphans it looks for. Linux only.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** The variable that marks a test's processes (not `REINS_*`: `reins mcp --env` passes it to upstreams). */
export const MARK_VARIABLE = 'LIFECYCLE_MARK';

export interface MarkedProcess {
  readonly pid: number;
  readonly ppid: number;
  readonly command: string;
}

/** Running processes marked with `token` (zombies excluded: they have exited and hold nothing). */
export function markedProcesses(token: string): MarkedProcess[] {
  const entry = `${MARK_VARIABLE}=${token}`;
  const found: MarkedProcess[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const environ = readFileSync(`/proc/${name}/environ`, 'utf8').split('\0');
      if (!environ.includes(entry)) continue;
      const described = describe(Number(name));
      if (described !== undefined) found.push(described);
    } catch {
      // gone meanwhile, or not ours to read: either way not a process of this test
    }
  }
  return found;
}

function describe(pid: number): MarkedProcess | undefined {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // the command name in parentheses may itself contain spaces or parentheses: fields follow the last `)`
  const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (state === 'Z' || state === 'X') return undefined;
  const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  return { pid, ppid: Number(ppid), command };
}

/** Ends whatever a failed test left behind, so one failure does not leave orphans on the machine. */
export function killMarked(token: string): void {
  for (const { pid } of markedProcesses(token)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
