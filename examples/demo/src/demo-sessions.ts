/**
 * Session ids of one run of the demo. A session's past lives in the audit log (decision 0020): a
 * second run on the same log would continue the first run's sessions (their limits spent, their
 * history seen). Each run therefore opens sessions of its own.
 */
import { randomUUID } from 'node:crypto';

const RUN = randomUUID().slice(0, 8);

/** `name`, made unique to this run of the demo. */
export function demoSession(name: string): string {
  return `${name}@${RUN}`;
}
