import { describe, expect, it } from 'vitest';
import {
  activeKubeVirt,
  devicesCheck,
  engineCheck,
  isSupportedKubeVirt,
  type KubeVirtCr,
} from './kubevirt-install.ts';

const cr = (phase?: string, version?: string, configuration = {}): KubeVirtCr => ({
  metadata: { name: 'kubevirt', namespace: 'kubevirt' },
  spec: { configuration },
  status: { ...(phase ? { phase } : {}), ...(version ? { observedKubeVirtVersion: version } : {}) },
});

describe('engineCheck', () => {
  it('needs the CRDs, then a KubeVirt CR, then its Deployed phase', () => {
    expect(engineCheck(false, [cr('Deployed', 'v1.7.0')])).toMatchObject({
      ok: false,
      reason: 'KubeVirtNotInstalled',
    });
    const none = engineCheck(true, []);
    expect(none).toMatchObject({ ok: false, reason: 'KubeVirtNotDeployed' });
    expect(none.message).toContain('no KubeVirt CR');
    expect(engineCheck(true, [cr('Deploying')])).toMatchObject({
      ok: false,
      reason: 'KubeVirtNotReady',
      message: expect.stringContaining('KubeVirt kubevirt/kubevirt is in phase Deploying'),
    });
    expect(engineCheck(true, [cr()]).message).toContain('not reporting a phase yet');
    expect(engineCheck(true, [cr('Deployed', 'v1.7.0')])).toEqual({
      ok: true,
      reason: 'KubeVirtDeployed',
      message: 'KubeVirt v1.7.0 is deployed (kubevirt/kubevirt)',
    });
  });

  it('says when the deployed version is outside the supported line, without refusing', () => {
    const c = engineCheck(true, [cr('Deployed', 'v1.5.2')]);
    expect(c.ok).toBe(true);
    expect(c.message).toContain('vmplane is checked with KubeVirt v1.7');
  });

  it('prefers a deployed CR and ignores one being deleted', () => {
    const deleting = {
      ...cr('Deployed', 'v1.7.0'),
      metadata: { name: 'old', namespace: 'x', deletionTimestamp: 'now' },
    };
    expect(activeKubeVirt([deleting, cr('Deploying')])?.status?.phase).toBe('Deploying');
    expect(activeKubeVirt([cr('Deploying'), cr('Deployed')])?.status?.phase).toBe('Deployed');
    expect(activeKubeVirt([deleting])).toBeUndefined();
  });

  it('knows the supported versions', () => {
    expect(isSupportedKubeVirt('v1.7.0')).toBe(true);
    expect(isSupportedKubeVirt('1.7.3-rc.1')).toBe(true);
    expect(isSupportedKubeVirt('v1.8.0')).toBe(false);
    expect(isSupportedKubeVirt('v2.7.0')).toBe(false);
    expect(isSupportedKubeVirt(undefined)).toBe(false);
  });
});

describe('devicesCheck', () => {
  const devices = {
    gpus: [{ name: 'gpu', deviceName: 'nvidia.com/A10', count: 2 }],
    hostDevices: [{ name: 'qat', deviceName: 'intel.com/qat' }],
  };

  it('passes a class without devices whatever KubeVirt says', () => {
    expect(devicesCheck(undefined, undefined)).toMatchObject({ ok: true });
    expect(devicesCheck({ gpus: [] }, undefined)).toMatchObject({ ok: true });
  });

  it('cannot tell without a deployed KubeVirt', () => {
    expect(devicesCheck(devices, undefined)).toMatchObject({ ok: false, reason: 'EngineUnknown' });
  });

  it('names the gate and each device KubeVirt does not permit', () => {
    const c = devicesCheck(devices, cr('Deployed', 'v1.7.0'));
    expect(c).toMatchObject({ ok: false, reason: 'DevicesNotPermitted' });
    expect(c.message).toContain('the HostDevices feature gate is off');
    expect(c.message).toContain(
      'nvidia.com/A10, intel.com/qat are not in spec.configuration.permittedHostDevices',
    );
  });

  it('passes when the gate is on and every device is permitted (PCI, mediated or USB)', () => {
    const kv = cr('Deployed', 'v1.7.0', {
      developerConfiguration: { featureGates: ['HostDevices'] },
      permittedHostDevices: {
        mediatedDevices: [{ resourceName: 'nvidia.com/A10' }],
        pciHostDevices: [{ resourceName: 'intel.com/qat' }],
      },
    });
    expect(devicesCheck(devices, kv)).toMatchObject({ ok: true, reason: 'DevicesPermitted' });
    // GPUs alone need no gate (GPU is GA in KubeVirt 1.7), only the permission.
    const gpuOnly = cr('Deployed', 'v1.7.0', {
      permittedHostDevices: { pciHostDevices: [{ resourceName: 'nvidia.com/A10' }] },
    });
    expect(devicesCheck({ gpus: devices.gpus }, gpuOnly)).toMatchObject({ ok: true });
  });
});
