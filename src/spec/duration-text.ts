/**
 * @module spec/duration-text
 * The duration grammar (`90s`, `15m`, `24h`, `7d`) on its own, without the schema library, so that
 * the command line can check `--ttl 30m` while it parses without loading zod for every command
 * (spec/duration builds the schema on it).
 */

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION_PATTERN = /^(\d+)(ms|s|m|h|d)$/;

/** Parses `15m` into 900000; returns undefined for anything that is not a positive duration. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION_PATTERN.exec(text);
  if (!match) return undefined;
  const amount = Number(match[1]);
  const unit = match[2] as keyof typeof UNIT_MS;
  const ms = amount * UNIT_MS[unit];
  return ms > 0 && Number.isSafeInteger(ms) ? ms : undefined;
}
