// Where a run's files go: bench/results holds results.json (every figure), results.md (the
// table, also printed at the end) and, with BENCH_PROFILE=1, the CPU profiles of the processes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../api/src/paths.ts';
import { table } from './report.ts';

export const RESULTS = join(REPO_ROOT, 'bench/results');

export function createResultsDir(): void {
  mkdirSync(RESULTS, { recursive: true });
}

/** Writes results.json and results.md, and prints the table. */
export function writeResults(results: Record<string, unknown>): void {
  writeFileSync(join(RESULTS, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const md = table(results as Record<string, any>);
  writeFileSync(join(RESULTS, 'results.md'), `${md}\n`);
  console.log(`\n${md}\n\nwritten to bench/results/`);
}
