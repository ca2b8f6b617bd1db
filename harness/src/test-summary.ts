// The counts behind the closing line `N passed, N failed` of npm test. A file that fails as a whole
// (it does not load, a hook or setup throws) is at least one failure, and the tests that did not
// run because of it count as failed, not skipped: only tests declared skip or todo are skipped.

export interface FileResult {
  /** The file failed as a whole: an import, a hook, a setup, an error outside any test. */
  fileFailed: boolean;
  tests: { state: 'passed' | 'failed' | 'other'; declaredSkip: boolean }[];
}

export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

export function countResults(files: readonly FileResult[], unhandledErrors = 0): Counts {
  const c: Counts = { passed: 0, failed: unhandledErrors, skipped: 0 };
  for (const f of files) {
    let failedHere = 0;
    for (const t of f.tests) {
      if (t.state === 'passed') c.passed++;
      else if (t.state === 'failed' || (f.fileFailed && !t.declaredSkip)) failedHere++;
      else c.skipped++;
    }
    if (f.fileFailed && failedHere === 0) failedHere = 1;
    c.failed += failedHere;
  }
  return c;
}

/** The per-file part of the JSON report vitest writes (`--reporter=json`, Jest's shape). */
export interface JsonReport {
  testResults?: { status: string; message?: string; assertionResults?: { status: string }[] }[];
  numFailedTestSuites?: number;
  numTotalTestSuites?: number;
}

export function filesFromJsonReport(r: JsonReport): FileResult[] {
  return (r.testResults ?? []).map((file) => {
    const tests = (file.assertionResults ?? []).map((t) => ({
      state:
        t.status === 'passed'
          ? ('passed' as const)
          : t.status === 'failed'
            ? ('failed' as const)
            : ('other' as const),
      declaredSkip: t.status === 'todo' || t.status === 'disabled',
    }));
    // A file that failed with no failed test failed as a whole (its message says why).
    const fileFailed = file.status === 'failed' && !tests.some((t) => t.state === 'failed');
    return { fileFailed, tests };
  });
}

export function closingLine(c: Counts): string {
  return `${c.passed} passed, ${c.failed} failed${c.skipped ? `, ${c.skipped} skipped` : ''}`;
}
