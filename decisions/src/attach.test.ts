import { describe, expect, it } from 'vitest';
import {
  CLAIM_GRACE_MS,
  decideClaim,
  formatClaim,
  newlyAttached,
  parseClaim,
  type AttachClaim,
} from './attach.ts';

const now = new Date('2026-11-30T10:00:00Z');
const ago = (ms: number): string => new Date(now.getTime() - ms).toISOString();
const claim = (vm: string, uid: string, at = ago(60_000)): AttachClaim => ({ vm, uid, at });
const me = { name: 'b', uid: 'uid-b' };

describe('claims on a disk', () => {
  it('round-trip, and an unreadable claim holds nothing', () => {
    const c = claim('a', 'uid-a');
    expect(parseClaim(formatClaim(c))).toEqual(c);
    expect(parseClaim('not json')).toBeUndefined();
    expect(parseClaim('{"vm":"a"}')).toBeUndefined();
    expect(parseClaim(undefined)).toBeUndefined();
  });

  it('a free disk, or one claimed by this very VM, is taken or kept', () => {
    expect(decideClaim(undefined, me, undefined, now)).toEqual({ take: true });
    expect(decideClaim(claim('b', 'uid-b'), me, undefined, now)).toEqual({
      take: false,
      mine: true,
    });
  });

  it('a VM that exists and uses the disk holds it', () => {
    expect(decideClaim(claim('a', 'uid-a'), me, { uid: 'uid-a', usesDisk: true }, now)).toEqual({
      take: false,
      heldBy: 'a',
      inFlight: false,
    });
  });

  it('a claim whose VM let the disk go, or was replaced by a namesake, is stale', () => {
    expect(decideClaim(claim('a', 'uid-a'), me, { uid: 'uid-a', usesDisk: false }, now)).toEqual({
      take: true,
    });
    expect(decideClaim(claim('a', 'uid-a'), me, { uid: 'uid-a2', usesDisk: true }, now)).toEqual({
      take: true,
    });
  });

  it('a claim of a VM not created yet holds for the grace period, then lapses', () => {
    expect(decideClaim(claim('a', 'uid-a', ago(1_000)), me, undefined, now)).toEqual({
      take: false,
      heldBy: 'a',
      inFlight: true,
    });
    expect(decideClaim(claim('a', 'uid-a', ago(CLAIM_GRACE_MS)), me, undefined, now)).toEqual({
      take: true,
    });
  });

  it('a retried create of the same VM name takes over its own earlier claim', () => {
    expect(decideClaim(claim('b', 'uid-b-first', ago(1_000)), me, undefined, now)).toEqual({
      take: true,
    });
  });
});

describe('newly attached disks', () => {
  it('are those the new spec names and the old did not', () => {
    expect(
      newlyAttached(
        { disks: [{ virtualMachineDiskName: 'x' }, {}, { virtualMachineDiskName: 'y' }] },
        { disks: [{ virtualMachineDiskName: 'x' }] },
      ),
    ).toEqual([{ disk: 'y', index: 2 }]);
    expect(newlyAttached({ disks: [{ virtualMachineDiskName: 'x' }] }, undefined)).toEqual([
      { disk: 'x', index: 0 },
    ]);
  });
});
