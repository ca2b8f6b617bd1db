import { describe, expect, it } from 'vitest';
import { closingLine, countResults, filesFromJsonReport } from './test-summary.ts';

const pass = { state: 'passed' as const, declaredSkip: false };
const fail = { state: 'failed' as const, declaredSkip: false };
const notRun = { state: 'other' as const, declaredSkip: false };
const skip = { state: 'other' as const, declaredSkip: true };

describe('countResults', () => {
  it('counts tests by their result', () => {
    expect(countResults([{ fileFailed: false, tests: [pass, pass, fail, skip] }])).toEqual({
      passed: 2,
      failed: 1,
      skipped: 1,
    });
  });
  it('counts a file that failed to load as one failure', () => {
    expect(countResults([{ fileFailed: true, tests: [] }])).toEqual({
      passed: 0,
      failed: 1,
      skipped: 0,
    });
  });
  it('counts the tests a failed hook kept from running as failed, not skipped', () => {
    expect(countResults([{ fileFailed: true, tests: [notRun, notRun, notRun, skip] }])).toEqual({
      passed: 0,
      failed: 3,
      skipped: 1,
    });
  });
  it('adds errors outside any file', () => {
    expect(countResults([{ fileFailed: false, tests: [pass] }], 2)).toEqual({
      passed: 1,
      failed: 2,
      skipped: 0,
    });
  });
});

describe('filesFromJsonReport', () => {
  it('reads a file that failed with no test result as failed as a whole', () => {
    const files = filesFromJsonReport({
      testResults: [
        { status: 'failed', message: 'Cannot find module', assertionResults: [] },
        { status: 'failed', assertionResults: [{ status: 'pending' }, { status: 'pending' }] },
        { status: 'passed', assertionResults: [{ status: 'passed' }, { status: 'todo' }] },
      ],
    });
    expect(countResults(files)).toEqual({ passed: 1, failed: 3, skipped: 1 });
  });
});

describe('closingLine', () => {
  it('is the plain line CI reads', () => {
    expect(closingLine({ passed: 3, failed: 0, skipped: 0 })).toBe('3 passed, 0 failed');
    expect(closingLine({ passed: 3, failed: 1, skipped: 2 })).toBe('3 passed, 1 failed, 2 skipped');
  });
});
