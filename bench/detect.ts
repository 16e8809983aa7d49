/**
 * @module bench/detect
 * Detector throughput: one megabyte of ordinary text (prose, JSON, log lines, a few secrets) against
 * one megabyte of each detector's crafted near-misses (the inputs of test/detect-linear-time.test.ts),
 * all detectors on, plus the per-call cost of redacting a typical 2 KB tool result. The baseline, in the
 * same process, is one pass of a literal regex (`/AKIA/g`) over the same megabyte.
 * Run: npm run bench:detect
 */
import { redactValue } from '../src/detect/redact-value.js';
import { Scanner } from '../src/detect/scanner.js';
import { format, machine, summarise, timeEach } from './measure.js';

const MEGABYTE = 1 << 20;
const ROUNDS = 9;
const write = (line: string) => process.stdout.write(`${line}\n`);

function repeatTo(unit: string, size = MEGABYTE): string {
  return unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
}

const NORMAL_UNIT = [
  'The quarterly review went well; the team shipped the billing migration two days early and the',
  'on-call load dropped by a third. Next quarter we focus on latency in the checkout path.\n',
  '{"id": 48213, "customer": "Jane Doe", "status": "shipped", "items": [{"sku": "LMP-0042", "qty": 2}]}\n',
  '2026-03-02T10:14:03Z INFO request_id=8f2c1a latency_ms=41 route=/api/orders user=42 status=200\n',
  'contact ops@example.com or +44 20 7946 0958; deploy key AKIAIOSFODNN7EXAMPLE was rotated.\n',
].join(' ');

const ADVERSARIAL: Record<string, string> = {
  'private_key headers, no footer': '-----BEGIN RSA PRIVATE KEY-----',
  'aws_access_key prefixes': 'AKIAIOSFODNN7EXAMP ',
  'jwt segments': 'eyJaaaaa.eyJaaaaa.',
  'connection string stubs': 'postgres://a:b',
  'secret_assignment stubs': 'password=a',
  'email stubs': 'a@a.',
  'payment_card groups': '4444 ',
  'iban groups': 'DE89 3704 ',
  'phone stubs': '+1 1',
  'ipv4 stubs': '1.1.1.',
  'ipv6 stubs': 'a:',
  'one character (a)': 'a',
  'digits only': '0',
};

/** Median and p99 of ROUNDS full scans of `text`, in milliseconds, and MB/s at the median. */
function scanTimes(scan: (text: string) => unknown, text: string) {
  scan(text); // warm-up
  const samples: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const started = process.hrtime.bigint();
    scan(text);
    samples.push(Number(process.hrtime.bigint() - started) / 1_000);
  }
  const summary = summarise(samples);
  return {
    medianMs: summary.medianUs / 1_000,
    p99Ms: summary.p99Us / 1_000,
    mbPerS: 1_000_000 / summary.medianUs,
  };
}

const scanner = new Scanner();
const literal = /AKIA/g;
const baselineScan = (text: string) => {
  let count = 0;
  literal.lastIndex = 0;
  while (literal.exec(text) !== null) count++;
  return count;
};

const normal = repeatTo(NORMAL_UNIT);
const baseline = scanTimes(baselineScan, normal);
const normalScan = scanTimes((text) => scanner.scan(text), normal);

write(`machine: ${machine()}`);
write('command: npm run bench:detect');
write('');
write(`all ${scanner.ids.length} detectors, 1 MiB per input, ${ROUNDS} rounds each`);
write('');
write('| input (1 MiB) | median ms | p99 ms | MB/s | × literal-regex baseline |');
write('| --- | ---: | ---: | ---: | ---: |');
const row = (name: string, times: ReturnType<typeof scanTimes>) =>
  write(
    `| ${name} | ${format(times.medianMs, 1)} | ${format(times.p99Ms, 1)} | ${format(times.mbPerS, 1)} | ${format(times.medianMs / baseline.medianMs, 0)} |`,
  );
row('baseline: one literal regex over ordinary text', baseline);
row('ordinary text (prose, JSON, logs, some secrets)', normalScan);
for (const [name, unit] of Object.entries(ADVERSARIAL))
  row(
    `adversarial: ${name}`,
    scanTimes((text) => scanner.scan(text), repeatTo(unit)),
  );

// per call: a typical MCP tool result of about 2 KB
const result = {
  content: [{ type: 'text', text: normal.slice(0, 2_048) }],
  structuredContent: { rows: [{ id: 1, email: 'jane@example.com', note: normal.slice(100, 400) }] },
};
const perCall = timeEach(() => redactValue(result, scanner, () => 'redact'), 20_000, 2_000);
write('');
write('| per call | median µs | p99 µs | samples |');
write('| --- | ---: | ---: | ---: |');
write(
  `| redact a ~2 KB MCP tool result (all detectors) | ${format(perCall.medianUs)} | ${format(perCall.p99Us)} | ${perCall.samples} |`,
);

// linearity: four times the input should take about four times as long (quadratic would be sixteen)
write('');
write('| scaling (all detectors) | 1 MiB median ms | 4 MiB median ms | ratio |');
write('| --- | ---: | ---: | ---: |');
for (const [name, unit] of [
  ['ordinary text', NORMAL_UNIT],
  ['payment_card groups', '4444 '],
  ['jwt segments', 'eyJaaaaa.eyJaaaaa.'],
  ['iban groups', 'DE89 3704 '],
] as const) {
  const one = scanTimes((text) => scanner.scan(text), repeatTo(unit));
  const four = scanTimes((text) => scanner.scan(text), repeatTo(unit, 4 * MEGABYTE));
  write(
    `| ${name} | ${format(one.medianMs, 1)} | ${format(four.medianMs, 1)} | ${format(four.medianMs / one.medianMs, 1)} |`,
  );
}
