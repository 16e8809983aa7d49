/**
 * @module bench/run
 * `npm run bench`: every benchmark, printed as Markdown tables ready for BENCHMARKS.md.
 * `--quick` runs fewer iterations (for a smoke check, not for figures).
 */
import { benchmarkDecisions, printDecisionRows } from './decision-latency.js';
import { format, machine, timerOverhead } from './measure.js';
import { benchmarkPipeline, printPipelineRows } from './pipeline-throughput.js';

const quick = process.argv.includes('--quick');
const write = (line: string) => process.stdout.write(`${line}\n`);

write(`machine: ${machine()}`);
const overhead = timerOverhead();
write(`timer overhead per sample: median ${format(overhead.medianUs, 3)} µs (included in the figures below)`);
write('');
write('## Decision latency (one call matching 3 of N rules, 4 conditions evaluated)');
write('');
printDecisionRows(benchmarkDecisions(quick ? 20_000 : 200_000), write);
write('');
write('## Pipeline throughput with durable SQLite audit');
write('');
printPipelineRows(await benchmarkPipeline(quick ? 5_000 : 50_000), write);
