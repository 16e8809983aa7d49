/**
 * @module telemetry/tallies
 * Counters and histograms that are counted in plain maps on the path of every call and handed to
 * prom-client only when scraped. prom-client's own `inc`/`observe` validate and hash the label values
 * on every update (~5 µs a call for the call metrics here, measured in bench/telemetry-cost), a cost a
 * call should not pay for a scrape every few seconds. Each tally is registered in the registry as a
 * metric object (`name`, `help`, `type`, `get()`: prom-client's extension point), so the exposition
 * text is still prom-client's.
 */
import type { Registry } from 'prom-client';

/** One line of the exposition, as prom-client's registry formats it. */
interface TallyValue {
  readonly value: number;
  readonly labels: Labels;
  readonly metricName?: string;
}

/** What prom-client's registry reads from a registered metric on each scrape. */
interface TallyObject {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram' | 'gauge';
  readonly aggregator: 'sum';
  readonly values: TallyValue[];
}

type Labels = Record<string, string | number>;

/** A key for one series: its label values joined by a character no label value of ours holds. */
function keyOf(values: readonly string[]): string {
  return values.length === 1 ? (values[0] as string) : values.join('\u0000');
}

function labelsOf(names: readonly string[], values: readonly string[]): Labels {
  const labels: Labels = {};
  names.forEach((name, index) => {
    labels[name] = values[index] as string;
  });
  return labels;
}

abstract class Tally {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  abstract readonly type: 'counter' | 'histogram' | 'gauge';

  /** What prom-client formats (called on each scrape). */
  abstract get(): Promise<TallyObject>;

  protected metricObject(values: TallyValue[]): TallyObject {
    return { name: this.name, help: this.help, type: this.type, aggregator: 'sum', values };
  }
}

/** A monotonic counter per label tuple. */
export class TalliedCounter extends Tally {
  readonly type = 'counter';
  private readonly series = new Map<string, { values: readonly string[]; count: number }>();

  inc(...values: string[]): void {
    const key = keyOf(values);
    const entry = this.series.get(key);
    if (entry === undefined) this.series.set(key, { values, count: 1 });
    else entry.count += 1;
  }

  async get(): Promise<TallyObject> {
    return this.metricObject(
      [...this.series.values()].map(({ values, count }) => ({
        labels: labelsOf(this.labelNames, values),
        value: count,
      })),
    );
  }
}

/** A histogram per label tuple, with fixed upper bounds (seconds). */
export class TalliedHistogram extends Tally {
  readonly type = 'histogram';
  private readonly series = new Map<
    string,
    { values: readonly string[]; buckets: Float64Array; sum: number }
  >();

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    super(name, help, labelNames, registry);
  }

  observe(value: number, ...values: string[]): void {
    if (!Number.isFinite(value)) return;
    const key = keyOf(values);
    let entry = this.series.get(key);
    if (entry === undefined) {
      // one slot per bound and one for +Inf; counts per slot, made cumulative when scraped
      entry = { values, buckets: new Float64Array(this.bounds.length + 1), sum: 0 };
      this.series.set(key, entry);
    }
    let slot = 0;
    while (slot < this.bounds.length && value > (this.bounds[slot] as number)) slot++;
    entry.buckets[slot] = (entry.buckets[slot] as number) + 1;
    entry.sum += value;
  }

  async get(): Promise<TallyObject> {
    const out: TallyValue[] = [];
    for (const { values, buckets, sum } of this.series.values()) {
      const labels = labelsOf(this.labelNames, values);
      let cumulative = 0;
      buckets.forEach((count, slot) => {
        cumulative += count;
        const le = slot < this.bounds.length ? (this.bounds[slot] as number) : '+Inf';
        out.push({
          metricName: `${this.name}_bucket`,
          labels: { le, ...labels },
          value: cumulative,
        });
      });
      out.push({ metricName: `${this.name}_sum`, labels, value: sum });
      out.push({ metricName: `${this.name}_count`, labels, value: cumulative });
    }
    return this.metricObject(out);
  }
}

/**
 * A gauge without labels whose value is read when scraped. A read that fails, or no source, gives no
 * sample at all — never 0 (which prom-client's `Gauge.reset()` would give), so an alert on the value
 * goes stale while its source is down instead of resolving.
 */
export class ReadGauge extends Tally {
  readonly type = 'gauge';

  constructor(
    name: string,
    help: string,
    private readonly read: () => Promise<number | undefined>,
    registry: Registry,
  ) {
    super(name, help, [], registry);
  }

  async get(): Promise<TallyObject> {
    let value: number | undefined;
    try {
      value = await this.read();
    } catch {
      value = undefined;
    }
    return this.metricObject(value === undefined || !Number.isFinite(value) ? [] : [{ labels: {}, value }]);
  }
}
