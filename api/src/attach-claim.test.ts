import { describe, expect, it } from 'vitest';
import { CLAIM_GRACE_MS, claimUpkeep, type AttachClaim } from './attach-claim.ts';

const now = new Date('2026-11-30T10:00:00Z');
const claim = (vm: string, uid: string, agoMs = 60_000): AttachClaim => ({
  vm,
  uid,
  at: new Date(now.getTime() - agoMs).toISOString(),
});
const a = { name: 'a', uid: 'uid-a' };
const b = { name: 'b', uid: 'uid-b' };

describe('claim upkeep by the disk controller', () => {
  it('keeps a claim whose VM uses the disk, or one written moments ago', () => {
    expect(claimUpkeep(claim('a', 'uid-a'), [a], now)).toBeUndefined();
    expect(claimUpkeep(claim('c', 'uid-c', 1_000), [], now)).toBeUndefined();
  });

  it('claims a disk attached before claims existed for its only VM', () => {
    expect(claimUpkeep(undefined, [a], now)).toEqual({
      write: { vm: 'a', uid: 'uid-a', at: now.toISOString() },
    });
  });

  it('removes a claim whose VM is gone or let the disk go', () => {
    expect(claimUpkeep(claim('c', 'uid-c', CLAIM_GRACE_MS), [], now)).toEqual({ remove: true });
  });

  it('points a stale claim at the only VM using the disk', () => {
    expect(claimUpkeep(claim('c', 'uid-c'), [b], now)).toEqual({
      write: { vm: 'b', uid: 'uid-b', at: now.toISOString() },
    });
  });

  it('decides nothing for a disk two VMs use, or one nobody uses and nobody claims', () => {
    expect(claimUpkeep(undefined, [a, b], now)).toBeUndefined();
    expect(claimUpkeep(claim('c', 'uid-c'), [a, b], now)).toBeUndefined();
    expect(claimUpkeep(undefined, [], now)).toBeUndefined();
  });
});
