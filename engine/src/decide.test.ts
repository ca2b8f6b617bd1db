// Expectations follow KubeVirt v1.7.0's pkg/virt-controller/watch/vm/vm.go (syncRunStrategy,
// isTrimFirstChangeRequestNeeded, setPrintableStatus, calculateStartBackoffTime).
import { describe, expect, it } from 'vitest';
import {
  guestAction,
  guestMemory,
  printableStatus,
  startBackoffMs,
  vmActions,
  type InstanceView,
  type VmView,
} from './decide.ts';

const none: InstanceView = { exists: false };
const at = (phase: InstanceView['phase'], more: Partial<InstanceView> = {}): InstanceView => ({
  exists: true,
  uid: 'u1',
  phase,
  ...more,
});
const vm = (runStrategy: VmView['runStrategy'], more: Partial<VmView> = {}): VmView => ({
  runStrategy,
  ...more,
});
const kinds = (v: VmView, i: InstanceView): string[] => vmActions(v, i).map((a) => a.kind);

describe('vmActions', () => {
  it('Always: makes an instance, replaces a finished one, deletes on a Stop for this instance', () => {
    expect(vmActions(vm('Always'), none)).toEqual([{ kind: 'createInstance', paused: false }]);
    expect(kinds(vm('Always'), at('Running'))).toEqual([]);
    expect(kinds(vm('Always'), at('Succeeded'))).toEqual(['deleteInstance']);
    const stop = vm('Always', { requests: [{ action: 'Stop', uid: 'u1' }, { action: 'Start' }] });
    expect(kinds(stop, at('Running'))).toEqual(['deleteInstance']);
    // The Stop is dropped once its instance is gone; the Start then makes a new one.
    expect(kinds(stop, none)).toEqual(['trimRequest', 'createInstance']);
  });

  it('Halted: deletes the instance; a Start request (start --paused) turns it Always', () => {
    expect(kinds(vm('Halted'), at('Running'))).toEqual(['deleteInstance']);
    expect(kinds(vm('Halted'), none)).toEqual([]);
    expect(
      kinds(vm('Halted', { requests: [{ action: 'Start', data: { paused: 'true' } }] }), none),
    ).toEqual(['setAlways']);
    // Then Always with the paused Start first: the instance starts paused, the request stays.
    expect(
      vmActions(vm('Always', { requests: [{ action: 'Start', data: { paused: 'true' } }] }), none),
    ).toEqual([{ kind: 'createInstance', paused: true }]);
  });

  it('Manual: only requests start and stop it; a finished instance stays', () => {
    expect(kinds(vm('Manual'), none)).toEqual([]);
    expect(kinds(vm('Manual', { requests: [{ action: 'Start' }] }), none)).toEqual([
      'createInstance',
    ]);
    expect(kinds(vm('Manual'), at('Succeeded'))).toEqual([]);
    expect(
      kinds(vm('Manual', { requests: [{ action: 'Stop', uid: 'u1' }] }), at('Running')),
    ).toEqual(['deleteInstance']);
    // A Start already carried out (its instance runs) is dropped.
    expect(kinds(vm('Manual', { requests: [{ action: 'Start' }] }), at('Running'))).toEqual([
      'trimRequest',
    ]);
  });

  it('RerunOnFailure: runs on creation, stays down after a clean shutdown, runs again after a failure', () => {
    expect(kinds(vm('RerunOnFailure'), none)).toEqual(['createInstance']);
    const synced = vm('RerunOnFailure', { lastRunStrategy: 'RerunOnFailure' });
    expect(kinds(synced, at('Succeeded'))).toEqual(['deleteInstance']);
    expect(kinds(synced, none)).toEqual([]);
    expect(kinds(synced, at('Failed'))).toEqual(['deleteInstance', 'appendStart']);
    expect(kinds({ ...synced, requests: [{ action: 'Start' }] }, none)).toEqual(['createInstance']);
  });

  it('Once: runs once; its finished instance stays and no other comes', () => {
    expect(kinds(vm('Once'), none)).toEqual(['createInstance']);
    expect(kinds(vm('Once'), at('Failed'))).toEqual([]);
    expect(kinds(vm('Once'), at('Succeeded'))).toEqual([]);
  });

  it('makes no instance while DataVolumes are not ready, the VM cannot start, or it backs off', () => {
    expect(kinds(vm('Always', { dataVolumes: 'provisioning' }), none)).toEqual([]);
    expect(kinds(vm('Always', { dataVolumes: 'error' }), none)).toEqual([]);
    expect(
      kinds(vm('Always', { failure: { reason: 'FailedFindInstancetype', message: 'x' } }), none),
    ).toEqual([]);
    expect(kinds(vm('Always', { backoffLeftMs: 1000, failCount: 1 }), none)).toEqual([]);
  });

  it('a VM being deleted deletes its instance and nothing else', () => {
    expect(kinds(vm('Always', { deleting: true }), at('Running'))).toEqual(['deleteInstance']);
    expect(kinds(vm('Always', { deleting: true }), none)).toEqual([]);
  });
});

describe('printableStatus', () => {
  it('follows the instance: Starting, Running, Paused, Stopping, Stopped', () => {
    expect(printableStatus(vm('Always'), none)).toBe('Starting');
    expect(printableStatus(vm('Always'), at('Pending'))).toBe('Starting');
    expect(printableStatus(vm('Always'), at('Scheduling'))).toBe('Starting');
    expect(printableStatus(vm('Always'), at('Running'))).toBe('Running');
    expect(printableStatus(vm('Always'), at('Running', { paused: true }))).toBe('Paused');
    expect(printableStatus(vm('Always'), at('Running', { migrating: true }))).toBe('Migrating');
    expect(printableStatus(vm('Halted'), at('Running', { migrating: true }))).toBe('Stopping');
    expect(printableStatus(vm('Halted'), at('Running'))).toBe('Stopping');
    expect(printableStatus(vm('Halted'), none)).toBe('Stopped');
    expect(printableStatus(vm('Manual'), at('Succeeded'))).toBe('Stopped');
    expect(printableStatus(vm('Always', { deleting: true }), at('Running'))).toBe('Terminating');
  });

  it('names what keeps an instance from running, in KubeVirt’s order', () => {
    expect(printableStatus(vm('Always'), at('Pending', { claimMissing: true }))).toBe(
      'ErrorPvcNotFound',
    );
    expect(printableStatus(vm('Always', { dataVolumes: 'error' }), none)).toBe('DataVolumeError');
    expect(printableStatus(vm('Always', { dataVolumes: 'provisioning' }), none)).toBe(
      'Provisioning',
    );
    expect(printableStatus(vm('Always'), at('Scheduling', { unschedulable: true }))).toBe(
      'ErrorUnschedulable',
    );
    // A missing claim outranks no room.
    expect(
      printableStatus(vm('Always'), at('Pending', { claimMissing: true, unschedulable: true })),
    ).toBe('ErrorPvcNotFound');
  });

  it('says CrashLoopBackOff while backing off after failed starts, Stopped for a VM that cannot start', () => {
    expect(printableStatus(vm('Always', { failCount: 2, backoffLeftMs: 5000 }), none)).toBe(
      'CrashLoopBackOff',
    );
    expect(
      printableStatus(
        vm('Always', { failure: { reason: 'FailedFindInstancetype', message: '' } }),
        none,
      ),
    ).toBe('Stopped');
  });
});

describe('startBackoffMs', () => {
  it('waits 10·n² seconds plus up to half again, at most 300 s', () => {
    expect(startBackoffMs(0)).toBe(0);
    expect(startBackoffMs(1, 0)).toBe(10_000);
    expect(startBackoffMs(1, 0.999)).toBe(15_000);
    expect(startBackoffMs(3, 0)).toBe(90_000);
    expect(startBackoffMs(6, 0)).toBe(300_000);
  });
});

describe('guestAction', () => {
  const g = (more: Partial<Parameters<typeof guestAction>[0]>): ReturnType<typeof guestAction> =>
    guestAction({ phase: 'Pending', deleting: false, process: false, started: false, ...more });
  it('starts a pending guest, leaves a running one, finishes one whose process went away', () => {
    expect(g({})).toEqual({ kind: 'startProcess' });
    expect(g({ phase: 'Running', process: true, started: true })).toEqual({ kind: 'none' });
    expect(g({ phase: 'Running', started: true })).toEqual({ kind: 'finish' });
  });
  it('shuts the guest down when its instance is deleted, then lets the instance go', () => {
    expect(g({ phase: 'Running', process: true, started: true, deleting: true })).toEqual({
      kind: 'stopProcess',
    });
    expect(g({ phase: 'Succeeded', deleting: true })).toEqual({ kind: 'finish' });
    expect(g({ phase: 'Pending', deleting: true })).toEqual({ kind: 'finish' });
  });
});

describe('guestMemory', () => {
  it('caps what a VM asks for and refuses what the budget cannot give, as the scheduler words it', () => {
    expect(guestMemory(2 ** 30, 256 * 2 ** 20, 2 ** 31)).toEqual({
      ok: true,
      bytes: 256 * 2 ** 20,
    });
    const r = guestMemory(2 ** 30, undefined, 64 * 2 ** 20);
    expect(r.ok).toBe(false);
    expect(r.ok || r.message).toContain('0/1 nodes are available: 1 Insufficient memory');
  });
});
