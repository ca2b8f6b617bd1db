import { describe, expect, it } from 'vitest';
import { needsBrowser, needsQemu, rootRuns, splitArgs } from './test-args.ts';

describe('splitArgs', () => {
  it('runs both suites when nothing is asked for', () => {
    expect(splitArgs([])).toEqual({ root: [], plugin: [] });
  });
  it('sends plugin/ paths to the plugin run, relative to plugin/', () => {
    expect(splitArgs(['plugin/src/logic'])).toEqual({ plugin: ['src/logic'] });
    expect(splitArgs(['plugin'])).toEqual({ plugin: [] });
  });
  it('sends everything else to the main run only', () => {
    expect(splitArgs(['test/webhooks', '-t', 'denies'])).toEqual({
      root: ['test/webhooks', '-t', 'denies'],
    });
  });
  it('splits a mixed request', () => {
    expect(splitArgs(['api/src', 'plugin/src/components'])).toEqual({
      root: ['api/src'],
      plugin: ['src/components'],
    });
  });
});

describe('needsBrowser', () => {
  it('is true for the whole run and for browser test paths', () => {
    expect(needsBrowser(splitArgs([]))).toBe(true);
    expect(needsBrowser(splitArgs(['test/plugin/browser.test.ts']))).toBe(true);
    expect(needsBrowser(splitArgs(['test']))).toBe(true);
    expect(needsBrowser(splitArgs(['-t', 'denies']))).toBe(true);
    expect(needsBrowser(splitArgs(['browser']))).toBe(true);
  });
  it('is true for the engine tests (the console of a real guest in the browser)', () => {
    expect(needsBrowser(splitArgs(['test/engine']))).toBe(true);
  });
  it('is true for the bench smoke run (its plugin section opens the list in the browser)', () => {
    expect(needsBrowser(splitArgs(['test/bench']))).toBe(true);
  });
  it('is false for runs that cannot reach a browser test', () => {
    expect(needsBrowser(splitArgs(['plugin/src']))).toBe(false);
    expect(needsBrowser(splitArgs(['test/webhooks', '-t', 'denies']))).toBe(false);
    expect(needsBrowser(splitArgs(['api/src', 'harness/src/ui']))).toBe(false);
  });
});

describe('rootRuns', () => {
  it('runs the timing tests after the others, alone, in a whole run', () => {
    expect(rootRuns([])).toEqual([['--exclude', '**/*.alone.test.ts'], ['.alone.test.ts']]);
  });

  it('runs what was asked once, timing tests included', () => {
    expect(rootRuns(['test/webhooks'])).toEqual([['test/webhooks']]);
  });
});

describe('needsQemu', () => {
  it('is true for a whole run, the engine tests and the sandbox tests, false for others and the plugin alone', () => {
    expect(needsQemu(splitArgs([]))).toBe(true);
    expect(needsQemu(splitArgs(['test/engine']))).toBe(true);
    expect(needsQemu(splitArgs(['test/sandbox/sandbox.test.ts']))).toBe(true);
    expect(needsQemu(splitArgs(['engine/src/cpio.test.ts']))).toBe(true);
    expect(needsQemu(splitArgs(['test/webhooks']))).toBe(false);
    expect(needsQemu(splitArgs(['plugin']))).toBe(false);
  });
});
