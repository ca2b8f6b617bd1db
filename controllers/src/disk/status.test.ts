import { describe, expect, it } from 'vitest';
import { disk } from '../../../test/support/builders.ts';
import {
  dataVolumeError,
  dataVolumeSource,
  diskPhase,
  diskStatus,
  inUseStatus,
  needsCdi,
} from './status.ts';

const dv = (phase: string) => ({ spec: {}, status: { phase } }) as never;

describe('diskPhase', () => {
  it('follows the DataVolume when there is one', () => {
    expect(diskPhase(dv('Succeeded'), undefined)).toEqual({
      phase: 'Ready',
      reason: 'Ready',
      message: 'the disk is ready',
    });
    expect(
      diskPhase(
        { spec: {}, status: { phase: 'ImportInProgress', progress: '42%' } } as never,
        undefined,
      ),
    ).toEqual({
      phase: 'Importing',
      reason: 'ImportInProgress',
      message: 'CDI is filling the disk (ImportInProgress, 42%)',
    });
    expect(
      diskPhase(
        {
          metadata: { name: 'data' },
          status: {
            phase: 'Failed',
            conditions: [{ type: 'Running', status: 'False', message: 'HTTP 404' }],
          },
        } as never,
        undefined,
      ),
    ).toEqual({
      phase: 'Failed',
      reason: 'ImportFailed',
      message: "CDI's DataVolume data is Failed (Failed): HTTP 404",
    });
    expect(diskPhase(dv('WaitForFirstConsumer'), undefined)).toEqual({
      phase: 'Pending',
      reason: 'WaitForFirstConsumer',
      message: 'the storage class binds volumes when a VM first uses them',
    });
  });
  it('follows the claim without CDI', () => {
    expect(diskPhase(undefined, { status: { phase: 'Bound' } })).toEqual({
      phase: 'Ready',
      reason: 'Ready',
      message: 'the claim is bound',
    });
    expect(diskPhase(undefined, undefined)).toEqual({
      phase: 'Pending',
      reason: 'ClaimPending',
      message: 'waiting for the claim to be bound',
    });
  });
});

describe('dataVolumeError', () => {
  const running = (phase: string, status: string, reason: string) =>
    ({
      metadata: { name: 'data' },
      status: {
        phase,
        conditions: [{ type: 'Running', status, reason, message: `importer: ${reason}` }],
      },
    }) as never;

  it("follows KubeVirt's DataVolumeError rule: Failed, or an importer stopped on an error", () => {
    expect(dataVolumeError(running('Failed', 'False', 'ImportFailed'))).toEqual({
      reason: 'ImportFailed',
      message: 'importer: ImportFailed',
    });
    expect(dataVolumeError(running('ImportInProgress', 'False', 'Error'))).toEqual({
      reason: 'Error',
      message: 'importer: Error',
    });
    expect(dataVolumeError(running('ImportScheduled', 'False', 'ImagePullFailed'))).toEqual({
      reason: 'ImagePullFailed',
      message: 'importer: ImagePullFailed',
    });
    // Waiting, or running, is no error.
    expect(dataVolumeError(running('ImportScheduled', 'False', 'Pending'))).toBeUndefined();
    expect(dataVolumeError(running('ImportInProgress', 'True', 'Pod is running'))).toBeUndefined();
  });

  it("turns the disk Failed with CDI's reason and message, even while the phase says importing", () => {
    expect(diskPhase(running('ImportInProgress', 'False', 'Error'), undefined)).toEqual({
      phase: 'Failed',
      reason: 'ImportFailed',
      message: "CDI's DataVolume data is ImportInProgress (Error): importer: Error",
    });
  });
});

describe('dataVolumeSource', () => {
  it('is blank, a clone of a claim, or an import of the image', () => {
    expect(dataVolumeSource(disk('d'), undefined)).toEqual({ blank: {} });
    expect(
      dataVolumeSource(disk('d', '1Gi', { source: { pvc: { name: 'golden' } } }), undefined),
    ).toEqual({ pvc: { name: 'golden', namespace: 'team-a' } });
    expect(
      dataVolumeSource(disk('d', '1Gi', { source: { image: { name: 'ubuntu' } } }), undefined),
    ).toEqual({
      reason: 'SourceNotFound',
      error: 'image VirtualMachineImage/ubuntu does not exist',
    });
  });

  it("clones another disk's claim once that disk is Ready", () => {
    const copy = disk('copy', '2Gi', { source: { disk: { name: 'golden' } } });
    const golden = (phase?: 'Importing' | 'Ready') => ({
      ...disk('golden', '2Gi'),
      ...(phase ? { status: { phase, claimName: 'golden' } } : {}),
    });
    expect(dataVolumeSource(copy, undefined, golden('Ready'))).toEqual({
      pvc: { name: 'golden', namespace: 'team-a' },
    });
    expect(dataVolumeSource(copy, undefined, golden('Importing'))).toEqual({
      reason: 'SourceNotReady',
      error:
        'waiting for VirtualMachineDisk golden, which this disk clones, to be Ready (it is Importing)',
    });
    expect(dataVolumeSource(copy, undefined, golden())).toMatchObject({ reason: 'SourceNotReady' });
    expect(dataVolumeSource(copy, undefined, undefined)).toEqual({
      reason: 'SourceNotFound',
      error: 'VirtualMachineDisk team-a/golden, which this disk clones, does not exist',
    });
  });
});

describe('diskStatus', () => {
  const ready = { phase: 'Ready' as const, reason: 'Ready', message: 'the claim is bound' };

  it('reports the phase, the claim, its capacity and the VM using it', () => {
    const s = diskStatus({
      disk: { ...disk('data'), metadata: { name: 'data', namespace: 'team-a', generation: 2 } },
      now: 'T1',
      readiness: ready,
      pvc: { status: { capacity: { storage: '10Gi' } } } as never,
      attachedTo: 'web',
    });
    expect(s).toEqual({
      observedGeneration: 2,
      phase: 'Ready',
      claimName: 'data',
      capacity: '10Gi',
      attachedTo: 'web',
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'Ready',
          message: 'the claim is bound',
          lastTransitionTime: 'T1',
        },
      ],
    });
  });

  it('says a resize waits for binding, or was refused', () => {
    const waiting = diskStatus({
      disk: disk('data', '20Gi'),
      now: 'T1',
      readiness: ready,
      resize: { outcome: 'waiting' },
    });
    expect(waiting.conditions?.[1]).toEqual({
      type: 'Resized',
      status: 'False',
      reason: 'WaitingForBinding',
      message: 'the claim grows to 20Gi once it is bound',
      lastTransitionTime: 'T1',
    });
    const refused = diskStatus({
      disk: disk('data', '20Gi'),
      now: 'T1',
      readiness: ready,
      resize: { outcome: 'refused', message: 'HTTP 403: forbidden' },
    });
    expect(refused.conditions?.[1]?.message).toBe(
      'the claim could not grow to 20Gi: HTTP 403: forbidden',
    );
  });

  it('says the storage is growing a bound claim that has less than the disk asks', () => {
    const pvc = (capacity: string) =>
      ({ status: { phase: 'Bound', capacity: { storage: capacity } } }) as never;
    const s = diskStatus({
      disk: disk('data', '2Gi'),
      now: 'T1',
      readiness: ready,
      pvc: pvc('1Gi'),
    });
    expect(s.capacity).toBe('1Gi');
    expect(s.conditions?.[1]).toMatchObject({
      type: 'Resized',
      status: 'False',
      reason: 'Resizing',
    });
    expect(s.conditions?.[1]?.message).toMatch(/^the claim asks for 2Gi and has 1Gi so far/);
    const done = diskStatus({
      disk: disk('data', '2Gi'),
      now: 'T1',
      readiness: ready,
      pvc: pvc('2Gi'),
    });
    expect(done.conditions).toHaveLength(1);
  });

  it("carries CDI's progress and restart count", () => {
    const s = diskStatus({
      disk: disk('data'),
      now: 'T1',
      readiness: { phase: 'Importing', reason: 'ImportInProgress', message: 'm' },
      progress: '42.5%',
      restarts: 2,
    });
    expect(s).toMatchObject({ phase: 'Importing', progress: '42.5%', restarts: 2 });
  });

  it('keeps the transition time while the Ready status holds', () => {
    const before = {
      ...disk('data'),
      status: {
        conditions: [
          {
            type: 'Ready',
            status: 'False' as const,
            reason: 'ClaimPending',
            message: '',
            lastTransitionTime: 'T0',
          },
        ],
      },
    };
    expect(
      diskStatus({
        disk: before,
        now: 'T1',
        readiness: needsCdi(disk('d', '1Gi', { source: { image: { name: 'u' } } })),
      }).conditions?.[0]?.lastTransitionTime,
    ).toBe('T0');
    expect(
      diskStatus({ disk: before, now: 'T1', readiness: ready }).conditions?.[0]?.lastTransitionTime,
    ).toBe('T1');
  });
});

describe('inUseStatus', () => {
  it('adds Deleting=False naming the VM, keeping the other conditions', () => {
    const d = {
      ...disk('data'),
      status: {
        phase: 'Ready' as const,
        conditions: [
          {
            type: 'Ready',
            status: 'True' as const,
            reason: 'Ready',
            message: '',
            lastTransitionTime: 'T0',
          },
        ],
      },
    };
    expect(inUseStatus(d, 'web', 'T1')).toEqual({
      phase: 'Ready',
      conditions: [
        { type: 'Ready', status: 'True', reason: 'Ready', message: '', lastTransitionTime: 'T0' },
        {
          type: 'Deleting',
          status: 'False',
          reason: 'InUse',
          message:
            'attached to VM web: detach it (remove it from spec.disks) and the deletion completes',
          lastTransitionTime: 'T1',
        },
      ],
    });
  });
});
