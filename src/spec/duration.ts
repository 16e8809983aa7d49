/**
 * @module spec/duration
 * Durations as written in policy files (`90s`, `15m`, `24h`, `7d`) and their conversion to milliseconds
 * (the grammar itself is spec/duration-text, which loads without zod).
 */
import { z } from 'zod';
import { parseDuration } from './duration-text.js';

export { parseDuration };

/** A duration string, validated and turned into milliseconds. */
export const DurationSchema = z.string().transform((text, context) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    context.addIssue({
      code: 'custom',
      message: `invalid duration \`${text}\`: use a positive number followed by ms, s, m, h or d (e.g. \`15m\`)`,
    });
    return z.NEVER;
  }
  return ms;
});
