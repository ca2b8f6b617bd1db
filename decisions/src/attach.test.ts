import { describe, expect, it } from 'vitest';
import {
  decideClaim,
  formatClaim,
  IN_FLIGHT_MS,
  newlyAttached,
  parseClaim,
  requesterStanding,
  WAIT_BUDGET_MS,
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

  it('a claim of a VM not created yet holds for a short in-flight window, then is void', () => {
    expect(decideClaim(claim('a', 'uid-a', ago(1_000)), me, undefined, now)).toEqual({
      take: false,
      inFlight: 'a',
      until: now.getTime() - 1_000 + IN_FLIGHT_MS,
    });
    expect(decideClaim(claim('a', 'uid-a', ago(IN_FLIGHT_MS)), me, undefined, now)).toEqual({
      take: true,
    });
    // One that claims to be written in the future holds nothing.
    expect(
      decideClaim(
        claim('a', 'uid-a', new Date(now.getTime() + 60_000).toISOString()),
        me,
        undefined,
        now,
      ),
    ).toEqual({ take: true });
    // A waiting admission sees it lapse before the webhook's timeout (5 s).
    expect(IN_FLIGHT_MS).toBeLessThan(WAIT_BUDGET_MS);
    expect(WAIT_BUDGET_MS).toBeLessThan(5_000);
  });

  it('a claim for the same VM name under another UID waits like any other (no renewal by name)', () => {
    expect(decideClaim(claim('b', 'uid-b-first', ago(1_000)), me, undefined, now)).toMatchObject({
      take: false,
      inFlight: 'b',
    });
  });
});

describe('the VM under admission', () => {
  it('may claim on CREATE only while the API server has no VM of that name', () => {
    expect(requesterStanding('CREATE', 'u', undefined)).toBe('claim');
    expect(requesterStanding('CREATE', 'u', { uid: 'other' })).toBe('skip');
    expect(requesterStanding('CREATE', 'u', { uid: 'u' })).toBe('skip');
  });

  it('may claim on UPDATE only if the API server has it, with the same UID', () => {
    expect(requesterStanding('UPDATE', 'u', { uid: 'u' })).toBe('claim');
    expect(requesterStanding('UPDATE', 'u', { uid: 'other' })).toBe('unknown');
    expect(requesterStanding('UPDATE', 'u', undefined)).toBe('unknown');
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
