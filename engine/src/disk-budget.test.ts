import { describe, expect, it } from 'vitest';
import { overBudget, qcow2VirtualSize } from './disk-budget.ts';

describe('the disk budget', () => {
  it('reads a qcow2 header’s virtual size, and nothing from another file', () => {
    const h = Buffer.alloc(32);
    h.writeUInt32BE(0x514649fb, 0);
    h.writeBigUInt64BE(BigInt(5 * 2 ** 30), 24);
    expect(qcow2VirtualSize(h)).toBe(5 * 2 ** 30);
    expect(qcow2VirtualSize(Buffer.alloc(32))).toBe(0);
  });
  it('refuses what would go over it, giving both figures', () => {
    expect(overBudget(2 ** 30, 2 ** 30, 4 * 2 ** 30)).toBeUndefined();
    expect(overBudget(3 * 2 ** 30, 2 * 2 ** 30, 4 * 2 ** 30)).toContain(
      'would hold 5.0 GiB, over its disk budget of 4.0 GiB (3.0 GiB already given to other disks)',
    );
  });
});
