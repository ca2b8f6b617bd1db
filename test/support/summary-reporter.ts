import { writeFileSync } from 'node:fs';
import type { Reporter, TestModule } from 'vitest/node';

/**
 * Ends the run with the plain line CI reads: `N passed, N failed` (and `, N skipped` when any).
 * A file that failed to load counts as one failure, so a broken suite cannot look green.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const mod of testModules) {
      let tests = 0;
      for (const test of mod.children.allTests()) {
        tests++;
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
      if (mod.state() === 'failed' && tests === 0) failed++;
    }
    failed += unhandledErrors.length;
    const out = process.env.VMPLANE_SUMMARY_FILE;
    if (out) {
      // npm test adds its leak check to these counts and prints the final line itself.
      writeFileSync(out, JSON.stringify({ passed, failed, skipped }));
      return;
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  }
}
