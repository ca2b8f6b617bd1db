import { describe, expect, it } from 'vitest';
import { volumeFile } from './volume-file.ts';

describe('volumeFile', () => {
  it('is disk.img in a Filesystem volume, the path itself for Block, none without local', () => {
    expect(volumeFile({ spec: { local: { path: '/s/volumes/pv-a' } } })).toBe(
      '/s/volumes/pv-a/disk.img',
    );
    expect(volumeFile({ spec: { volumeMode: 'Block', local: { path: '/s/volumes/pv-b' } } })).toBe(
      '/s/volumes/pv-b',
    );
    expect(volumeFile({ spec: {} })).toBeUndefined();
  });
});
