import { writeFileSync } from 'node:fs';
import type { Reporter, TestModule } from 'vitest/node';
import { closingLine, countResults, type FileResult } from '../../harness/src/test-summary.ts';

/**
 * Ends the run with the plain line CI reads: `N passed, N failed` (and `, N skipped` when any).
 * A file that fails as a whole (import, hook, setup) counts as at least one failure, and the tests
 * it kept from running count as failed, not skipped.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<unknown>,
  ): void {
    const files: FileResult[] = testModules.map((mod) => ({
      fileFailed:
        mod.state() === 'failed' &&
        (mod.errors().length > 0 ||
          ![...mod.children.allTests()].some((t) => t.result().state === 'failed')),
      tests: [...mod.children.allTests()].map((t) => {
        const state = t.result().state;
        return {
          state: state === 'passed' ? 'passed' : state === 'failed' ? 'failed' : 'other',
          declaredSkip: t.options.mode === 'skip' || t.options.mode === 'todo',
        };
      }),
    }));
    const counts = countResults(files, unhandledErrors.length);
    const out = process.env.VMPLANE_SUMMARY_FILE;
    if (out) {
      // npm test adds its leak check to these counts and prints the final line itself.
      writeFileSync(out, JSON.stringify(counts));
      return;
    }
    process.stdout.write(`\n${closingLine(counts)}\n`);
  }
}
