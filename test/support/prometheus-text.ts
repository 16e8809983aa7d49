/**
 * @module test/support/prometheus-text
 * Reads a `/metrics` answer as a scraper would, with parse-prometheus-text-format. That parser keeps
 * only one series of a histogram (it merges labelled ones), so histogram families are read as their
 * plain `_count`, `_sum` and `_bucket` series instead: `value(families, 'x_count', labels)`.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

export interface MetricFamily {
  readonly name: string;
  readonly type: string;
  readonly metrics: readonly { readonly labels?: Record<string, string>; readonly value?: string }[];
}

export type MetricFamilies = ReadonlyMap<string, MetricFamily>;

export function parseMetrics(body: string): MetricFamilies {
  const untypedHistograms = body.replace(/^# TYPE \S+ histogram$/gm, '');
  const families = parsePrometheusTextFormat(untypedHistograms) as MetricFamily[];
  // a histogram's series interleave (`_bucket`, `_sum`, `_count` per label set): gather them by name
  const byName = new Map<string, MetricFamily>();
  for (const family of families) {
    const known = byName.get(family.name);
    byName.set(family.name, known ? { ...known, metrics: [...known.metrics, ...family.metrics] } : family);
  }
  return byName;
}

/** The value of the one series of `name` whose labels include `labels`; undefined if there is none. */
export function metricValue(
  families: MetricFamilies,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const matching = families
    .get(name)
    ?.metrics.filter((metric) =>
      Object.entries(labels).every(([key, want]) => metric.labels?.[key] === want),
    );
  if (matching === undefined || matching.length === 0) return undefined;
  if (matching.length > 1)
    throw new Error(`${matching.length} series of \`${name}\` match ${JSON.stringify(labels)}`);
  return Number(matching[0]?.value);
}
