import { describe, expect, it } from 'vitest';
import {
  decide,
  guestMemory,
  printableStatus,
  startBackoffMs,
  wantsInstance,
  type InstanceView,
  type VmView,
} from './decide.ts';

const none: InstanceView = { exists: false, process: false };
const running: InstanceView = { exists: true, phase: 'Running', process: true };
const vm = (runStrategy: VmView['runStrategy'], more: Partial<VmView> = {}): VmView => ({
  runStrategy,
  disksReady: true,
  ...more,
});

describe('decide', () => {
  it('starts an Always VM: instance first, then its process; nothing once it runs', () => {
    expect(decide(vm('Always'), none)).toEqual([{ kind: 'createInstance' }]);
    expect(decide(vm('Always'), { exists: true, phase: 'Pending', process: false })).toEqual([
      { kind: 'startProcess' },
    ]);
    expect(decide(vm('Always'), running)).toEqual([]);
  });

  it('waits for the disks before making an instance', () => {
    expect(decide(vm('Always', { disksReady: false }), none)).toEqual([]);
    expect(printableStatus(vm('Always', { disksReady: false }), none)).toBe('Provisioning');
  });

  it('says DataVolumeError when a disk cannot be made, and makes no instance', () => {
    const broken = vm('Always', { disksReady: false, diskError: true });
    expect(decide(broken, none)).toEqual([]);
    expect(printableStatus(broken, none)).toBe('DataVolumeError');
    expect(printableStatus(vm('Halted', { disksReady: false, diskError: true }), none)).toBe(
      'Stopped',
    );
  });

  it('starts nothing while backing off after a failed start, and says CrashLoopBackOff', () => {
    const waiting = vm('Always', { backoff: true });
    const failed: InstanceView = { exists: true, phase: 'Failed', process: false };
    expect(decide(waiting, failed)).toEqual([{ kind: 'deleteInstance' }]);
    expect(decide(waiting, none)).toEqual([]);
    expect(printableStatus(waiting, none)).toBe('CrashLoopBackOff');
    expect(decide(vm('Always'), none)).toEqual([{ kind: 'createInstance' }]);
    // A stop still stops.
    expect(decide(vm('Halted', { backoff: true }), running)).toEqual([{ kind: 'stopProcess' }]);
  });

  it('says ErrorUnschedulable while the machine has no room, and waits to try again', () => {
    const pending: InstanceView = { exists: true, phase: 'Pending', process: false };
    const full = vm('Always', { unschedulable: true, backoff: true });
    expect(decide(full, pending)).toEqual([]);
    expect(printableStatus(full, pending)).toBe('ErrorUnschedulable');
    expect(decide(vm('Always', { unschedulable: true }), pending)).toEqual([
      { kind: 'startProcess' },
    ]);
  });

  it('waits 10 s after the first failed start, doubling up to 5 minutes', () => {
    expect([0, 1, 2, 3, 6, 10].map(startBackoffMs)).toEqual([
      0, 10_000, 20_000, 40_000, 300_000, 300_000,
    ]);
  });

  it('says Paused for a paused instance whose guest runs', () => {
    expect(printableStatus(vm('Always'), { ...running, paused: true })).toBe('Paused');
  });

  it('stops a Halted VM: the process first, then the instance', () => {
    expect(decide(vm('Halted'), running)).toEqual([{ kind: 'stopProcess' }]);
    expect(decide(vm('Halted'), { exists: true, phase: 'Succeeded', process: false })).toEqual([
      { kind: 'deleteInstance' },
    ]);
    expect(decide(vm('Halted'), none)).toEqual([]);
    expect(printableStatus(vm('Halted'), running)).toBe('Stopping');
    expect(printableStatus(vm('Halted'), none)).toBe('Stopped');
  });

  it('replaces a finished instance for Always; RerunOnFailure only after a failure; Once never', () => {
    const succeeded: InstanceView = { exists: true, phase: 'Succeeded', process: false };
    const failed: InstanceView = { exists: true, phase: 'Failed', process: false };
    expect(decide(vm('Always'), succeeded)).toEqual([{ kind: 'deleteInstance' }]);
    expect(decide(vm('RerunOnFailure'), failed)).toEqual([{ kind: 'deleteInstance' }]);
    expect(wantsInstance(vm('RerunOnFailure'), succeeded)).toBe(false);
    expect(decide(vm('RerunOnFailure'), succeeded)).toEqual([{ kind: 'deleteInstance' }]);
    expect(wantsInstance(vm('Once'), failed)).toBe(false);
    expect(decide(vm('Once'), failed)).toEqual([]);
    expect(wantsInstance(vm('Once'), none)).toBe(true);
  });

  it('leaves a Manual VM as it is', () => {
    expect(decide(vm('Manual'), none)).toEqual([]);
    expect(decide(vm('Manual'), running)).toEqual([]);
  });

  it('stops everything of a VM being deleted, and says Terminating', () => {
    expect(decide(vm('Always', { deleting: true }), running)).toEqual([{ kind: 'stopProcess' }]);
    expect(printableStatus(vm('Always', { deleting: true }), running)).toBe('Terminating');
  });

  it("prints KubeVirt's words: Starting, Running, Paused, CrashLoopBackOff", () => {
    expect(printableStatus(vm('Always'), none)).toBe('Starting');
    expect(printableStatus(vm('Always'), running)).toBe('Running');
    expect(printableStatus(vm('Always'), { ...running, paused: true })).toBe('Paused');
    expect(printableStatus(vm('Always'), { exists: true, phase: 'Failed', process: false })).toBe(
      'CrashLoopBackOff',
    );
  });
});

describe('guestMemory', () => {
  const GiB = 2 ** 30;
  it('gives what is asked, capped, and refuses more than the machine has', () => {
    expect(guestMemory(4 * GiB, undefined, 8 * GiB)).toEqual({ ok: true, bytes: 4 * GiB });
    expect(guestMemory(4 * GiB, GiB / 2, 8 * GiB)).toEqual({ ok: true, bytes: GiB / 2 });
    const refused = guestMemory(4 * GiB, 2 * GiB, GiB);
    expect(refused).toEqual({
      ok: false,
      message:
        'the VM needs 2048 MiB of guest memory (its 4096 MiB, capped) and this machine has 1024 MiB available: stop another VM or use a smaller class',
    });
  });
});
