/**
 * @module bench/measure
 * Timing helpers shared by the benchmarks: per-call samples with hrtime, percentiles, machine facts.
 */
import { cpus, totalmem } from 'node:os';

export interface Summary {
  readonly samples: number;
  readonly medianUs: number;
  readonly p99Us: number;
}

/** Times `iterations` calls of `run` one by one (after `warmup` untimed calls). */
export function timeEach(run: () => void, iterations: number, warmup = Math.min(iterations, 5_000)): Summary {
  for (let index = 0; index < warmup; index++) run();
  const samples = new Float64Array(iterations);
  for (let index = 0; index < iterations; index++) {
    const started = process.hrtime.bigint();
    run();
    samples[index] = Number(process.hrtime.bigint() - started) / 1_000;
  }
  return summarise(samples);
}

export function summarise(samples: Float64Array | number[]): Summary {
  const sorted = Float64Array.from(samples).sort();
  return { samples: sorted.length, medianUs: percentile(sorted, 50), p99Us: percentile(sorted, 99) };
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** The cost of the timer itself, to read small medians honestly. */
export function timerOverhead(): Summary {
  return timeEach(() => {}, 100_000);
}

export function machine(): string {
  const cpu = cpus();
  return `${cpu[0]?.model ?? 'unknown cpu'} x${cpu.length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, ${process.platform}`;
}

export function format(value: number, digits = 2): string {
  return value.toFixed(digits);
}
