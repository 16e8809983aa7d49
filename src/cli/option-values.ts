/**
 * @module cli/option-values
 * Parsers for numeric and duration options, given to commander so that a bad value is refused before
 * anything runs, with what was given and what is accepted (`--ttl abc` used to end in "got NaN").
 */
import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../spec/duration.js';

const WHOLE = /^\d+$/;

function refuse(expected: string, value: string): never {
  throw new InvalidArgumentError(`give ${expected}; got \`${value}\``);
}

/** 1, 2, 3, ... */
export function positiveInteger(value: string): number {
  const number = WHOLE.test(value) ? Number(value) : Number.NaN;
  if (!(Number.isSafeInteger(number) && number >= 1)) refuse('a positive integer (1, 2, 3, ...)', value);
  return number;
}

/** A sequence number: 0, 1, 2, ... */
export function sequenceNumber(value: string): number {
  const number = WHOLE.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(number)) refuse('a sequence number (an integer, 0 or more)', value);
  return number;
}

/** A lifetime in whole seconds: `90` (seconds), `90s`, `30m`, `1h`. */
export function durationSeconds(value: string): number {
  const ms = WHOLE.test(value) ? Number(value) * 1_000 : parseDuration(value);
  if (ms === undefined || !(ms >= 1_000) || ms % 1_000 !== 0 || !Number.isSafeInteger(ms))
    refuse('a duration such as `30m` or `1h` (units s, m, h, d), or whole seconds such as `900`', value);
  return ms / 1_000;
}

/** A timeout in milliseconds, as a string (what the commands take): `60000`, `30s`, `5m`. */
export function durationMilliseconds(value: string): string {
  const ms = WHOLE.test(value) ? Number(value) : parseDuration(value);
  if (ms === undefined || !(ms >= 1) || !Number.isSafeInteger(ms))
    refuse('a duration such as `30s` or `5m` (units ms, s, m, h, d), or milliseconds such as `60000`', value);
  return String(ms);
}
