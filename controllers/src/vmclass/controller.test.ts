import { describe, expect, it } from 'vitest';
import { vmClass } from '../../../test/support/builders.ts';
import { classStatus } from './controller.ts';

const deployed = (configuration = {}) => ({
  metadata: { name: 'kubevirt', namespace: 'kubevirt' },
  spec: { configuration },
  status: { phase: 'Deployed', observedKubeVirtVersion: 'v1.7.0' },
});

describe('classStatus', () => {
  const gpu = vmClass('gpu', 8, '32Gi', {
    hardware: {
      cpus: 8,
      memory: '32Gi',
      devices: { gpus: [{ name: 'g', deviceName: 'nvidia.com/A10' }] },
    },
  });

  it('says DevicesPermitted=False naming the device KubeVirt does not permit, and keeps other conditions', () => {
    const s = classStatus(
      {
        ...gpu,
        status: {
          conditions: [
            { type: 'Other', status: 'True', reason: 'X', message: '', lastTransitionTime: 'T0' },
          ],
        },
      },
      [deployed()],
      'T1',
    );
    expect(s.conditions?.map((c) => c.type)).toEqual(['Other', 'DevicesPermitted']);
    expect(s.conditions?.[1]).toMatchObject({
      status: 'False',
      reason: 'DevicesNotPermitted',
      lastTransitionTime: 'T1',
    });
    expect(s.conditions?.[1]?.message).toContain(
      'nvidia.com/A10 is not in spec.configuration.permittedHostDevices',
    );
  });

  it('is Unknown without a deployed KubeVirt and True once the device is permitted', () => {
    expect(classStatus(gpu, [], 'T1').conditions?.[0]?.status).toBe('Unknown');
    const ok = classStatus(
      gpu,
      [
        deployed({
          permittedHostDevices: { pciHostDevices: [{ resourceName: 'nvidia.com/A10' }] },
        }),
      ],
      'T1',
    );
    expect(ok.conditions?.[0]).toMatchObject({ status: 'True', reason: 'DevicesPermitted' });
  });
});
