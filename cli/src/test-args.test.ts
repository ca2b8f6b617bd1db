import { describe, expect, it } from 'vitest';
import { splitArgs } from './test-args.ts';

describe('splitArgs', () => {
  it('runs both suites when nothing is asked for', () => {
    expect(splitArgs([])).toEqual({ root: [], plugin: [] });
  });
  it('sends plugin/ paths to the plugin run, relative to plugin/', () => {
    expect(splitArgs(['plugin/src/logic'])).toEqual({ plugin: ['src/logic'] });
    expect(splitArgs(['plugin'])).toEqual({ plugin: [] });
  });
  it('sends everything else to the main run only', () => {
    expect(splitArgs(['test/webhooks', '-t', 'denies'])).toEqual({ root: ['test/webhooks', '-t', 'denies'] });
  });
  it('splits a mixed request', () => {
    expect(splitArgs(['api/src', 'plugin/src/components'])).toEqual({ root: ['api/src'], plugin: ['src/components'] });
  });
});
