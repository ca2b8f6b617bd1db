import { describe, expect, it } from 'vitest';
import { InstallMemo } from './installed';

describe('InstallMemo', () => {
  it('knows nothing of a cluster it has not checked', () => {
    expect(new InstallMemo().known('prod')).toBeUndefined();
  });

  it('remembers a cluster seen serving the API, and only that cluster', () => {
    const memo = new InstallMemo();
    memo.remember('prod', true);
    expect(memo.known('prod')).toBe(true);
    expect(memo.known('staging')).toBeUndefined();
  });

  it('forgets a cluster whose check says the API is no longer served', () => {
    const memo = new InstallMemo();
    memo.remember('prod', true);
    memo.remember('prod', false);
    expect(memo.known('prod')).toBeUndefined();
  });

  it('forgets every cluster on clear', () => {
    const memo = new InstallMemo();
    memo.remember('prod', true);
    memo.remember('staging', true);
    memo.clear();
    expect([memo.known('prod'), memo.known('staging')]).toEqual([undefined, undefined]);
  });
});
