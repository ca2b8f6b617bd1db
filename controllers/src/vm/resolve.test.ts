import { describe, expect, it } from 'vitest';
import { dataVolumeProblem, disksCheckOf } from './resolve.ts';

const dv = (
  phase: string | undefined,
  extra: { progress?: string; running?: { status: string; reason: string; message: string } } = {},
) =>
  ({
    metadata: { name: 'web-boot' },
    status: {
      ...(phase ? { phase } : {}),
      ...(extra.progress ? { progress: extra.progress } : {}),
      conditions: extra.running ? [{ type: 'Running', ...extra.running }] : [],
    },
  }) as never;

describe('dataVolumeProblem', () => {
  it('is nothing once the DataVolume Succeeded', () => {
    expect(dataVolumeProblem('web-boot', dv('Succeeded'))).toBeUndefined();
  });

  it("says CDI's phase and progress while it works, and why it waits", () => {
    expect(dataVolumeProblem('web-boot', undefined)).toEqual({
      failed: false,
      message: 'DataVolume web-boot is not created yet',
    });
    expect(dataVolumeProblem('web-boot', dv('ImportInProgress', { progress: '42.0%' }))).toEqual({
      failed: false,
      message: 'DataVolume web-boot is ImportInProgress (42.0%)',
    });
    expect(
      dataVolumeProblem(
        'web-boot',
        dv('ImportScheduled', {
          running: { status: 'False', reason: 'Pending', message: 'waiting for the claim' },
        }),
      ),
    ).toEqual({
      failed: false,
      message: 'DataVolume web-boot is ImportScheduled (waiting for the claim)',
    });
  });

  it('says when the storage class waits for the VM to start', () => {
    expect(dataVolumeProblem('web-boot', dv('WaitForFirstConsumer'))).toEqual({
      failed: false,
      message:
        'DataVolume web-boot is WaitForFirstConsumer (its storage class binds it when the VM first starts)',
    });
  });

  it("is a failure, with CDI's reason and message, when the DataVolume failed or its importer stopped", () => {
    expect(
      dataVolumeProblem(
        'web-boot',
        dv('Failed', {
          running: { status: 'False', reason: 'ImportFailed', message: 'HTTP 404 Not Found' },
        }),
      ),
    ).toEqual({
      failed: true,
      message: 'DataVolume web-boot is Failed (ImportFailed): HTTP 404 Not Found',
    });
    expect(
      dataVolumeProblem(
        'web-boot',
        dv('ImportInProgress', {
          running: {
            status: 'False',
            reason: 'Error',
            message: 'Unable to connect to http data source',
          },
        }),
      ),
    ).toMatchObject({ failed: true });
  });
});

describe('disksCheckOf (DisksReady)', () => {
  const none = { lost: false, failed: false, cdiMissing: false };

  it('is True once nothing is wrong', () => {
    expect(disksCheckOf([], none)).toEqual({
      ok: true,
      reason: 'AllDisksReady',
      message: 'every disk is ready',
    });
  });

  it('says DataVolumeError when a DataVolume failed, before a disk that is merely importing', () => {
    expect(
      disksCheckOf(['DataVolume a is ImportInProgress (5%)', 'DataVolume b is Failed (Error): x'], {
        ...none,
        failed: true,
      }),
    ).toEqual({
      ok: false,
      reason: 'DataVolumeError',
      message: 'DataVolume a is ImportInProgress (5%); DataVolume b is Failed (Error): x',
    });
    expect(disksCheckOf(['DataVolume a is ImportInProgress'], none).reason).toBe('DisksNotReady');
  });

  it('ranks a lost claim first, and CDI missing only when nothing failed', () => {
    expect(disksCheckOf(['x'], { lost: true, failed: true, cdiMissing: false }).reason).toBe(
      'ClaimLost',
    );
    expect(disksCheckOf(['x'], { ...none, cdiMissing: true }).reason).toBe('CDINotInstalled');
    expect(disksCheckOf(['x'], { ...none, failed: true, cdiMissing: true }).reason).toBe(
      'DataVolumeError',
    );
  });
});
