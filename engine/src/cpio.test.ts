import { describe, expect, it } from 'vitest';
import { newc } from './cpio.ts';

describe('newc', () => {
  it('writes 110-byte headers, names and data padded to 4 bytes, and the trailer', () => {
    const a = newc([
      { type: 'dir', path: 'bin' },
      { type: 'file', path: 'init', data: 'abcde', mode: 0o755 },
      { type: 'symlink', path: 'bin/sh', target: 'busybox' },
    ]);
    const text = a.toString('latin1');
    expect(text.startsWith('070701')).toBe(true);
    // Every record starts on a 4-byte boundary with the magic.
    const starts = [...text.matchAll(/070701/g)].map((m) => m.index ?? -1);
    expect(starts).toHaveLength(4);
    for (const s of starts) expect(s % 4).toBe(0);
    // The file: mode 100755, size 5, its name and data.
    const file = text.slice(starts[1], starts[2]);
    expect(file.slice(14, 22)).toBe((0o100755).toString(16).padStart(8, '0'));
    expect(file.slice(54, 62)).toBe('00000005');
    expect(file).toContain('init\0');
    expect(file).toContain('abcde');
    expect(text).toContain('TRAILER!!!\0');
    expect(a.length % 4).toBe(0);
  });
});
