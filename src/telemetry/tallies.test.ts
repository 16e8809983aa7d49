// The tallies must expose exactly what prom-client's own Counter and Histogram would for the same
// updates: the same text, so scrapers and the tests that parse it cannot tell them apart.
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { TalliedCounter, TalliedHistogram } from './tallies.js';

const BOUNDS = [0.001, 0.01, 0.1, 1];

describe('tallies', () => {
  it('expose the same text as prom-client counting the same things', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const counter = new TalliedCounter('reins_x_total', 'Things.', ['effect', 'rule'], ours);
    const histogram = new TalliedHistogram('reins_x_seconds', 'Time.', ['effect'], BOUNDS, ours);
    const peerCounter = new Counter({
      name: 'reins_x_total',
      help: 'Things.',
      labelNames: ['effect', 'rule'],
      registers: [theirs],
    });
    const peerHistogram = new Histogram({
      name: 'reins_x_seconds',
      help: 'Time.',
      labelNames: ['effect'],
      buckets: BOUNDS,
      registers: [theirs],
    });
    const updates: [string, string, number][] = [
      ['allow', 'reads', 0.0005],
      ['deny', 'reins.default-deny', 0.001],
      ['allow', 'reads', 0.05],
      ['allow', 'say "hi"\\n', 2],
      ['deny', 'reins.default-deny', 0.1],
    ];
    for (const [effect, rule, seconds] of updates) {
      counter.inc(effect, rule);
      peerCounter.inc({ effect, rule });
      histogram.observe(seconds, effect);
      peerHistogram.observe({ effect }, seconds);
    }
    histogram.observe(Number.NaN, 'allow'); // not a duration: ignored rather than poisoning the sum
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });
});
