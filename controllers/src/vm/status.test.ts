import { describe, expect, it } from 'vitest';
import { vm } from '../../../test/support/builders.ts';
import { computeVmStatus, phaseOf, powerStateOf, restartPending } from './status.ts';
import type { Check } from '../../../decisions/src/check.ts';

const good: Check = { ok: true, reason: 'Resolved', message: 'ok' };
const small = {
  name: 'small',
  cpus: 2,
  memory: '4Gi',
  reservation: 'BestEffort' as const,
  generation: 1,
};
const base = {
  vm: vm('web', { className: 'small' }),
  now: 'T1',
  classCheck: good,
  imageCheck: good,
  disksCheck: good,
  engineCheck: good,
};

describe('phaseOf and powerStateOf', () => {
  it("map KubeVirt's printable status", () => {
    expect(phaseOf(undefined)).toBe('Pending');
    expect(phaseOf('Terminating')).toBe('Stopping');
    expect(phaseOf('CrashLoopBackOff')).toBe('Failed');
    expect(phaseOf('Whatever')).toBe('Unknown');
    expect(powerStateOf('Paused')).toBe('Suspended');
    expect(powerStateOf('Migrating')).toBe('PoweredOn');
    expect(powerStateOf('Stopping')).toBeUndefined();
  });
});

describe('computeVmStatus', () => {
  it('says EngineUnavailable without KubeVirt, and why', () => {
    const s = computeVmStatus({
      ...base,
      engineCheck: { ok: false, reason: 'KubeVirtNotInstalled', message: 'install KubeVirt' },
    });
    expect(s).toMatchObject({
      phase: 'Pending',
      printableStatus: 'EngineUnavailable',
      restartPending: false,
    });
    expect(s.conditions?.map((c) => `${c.type}=${c.status}:${c.reason}`)).toEqual([
      'ClassResolved=True:Resolved',
      'ImageResolved=True:Resolved',
      'DisksReady=True:Resolved',
      'EngineAvailable=False:KubeVirtNotInstalled',
      'Ready=False:KubeVirtNotInstalled',
      'RestartPending=False:UpToDate',
    ]);
  });

  it('says EngineRefused when the API server refused the KubeVirt VM, with its message, in a condition of its own', () => {
    const refused = {
      ok: false,
      reason: 'EngineRefused',
      message:
        'the API server refused the KubeVirt VirtualMachine ...: metadata.labels: Invalid value',
    };
    const s = computeVmStatus({ ...base, acceptedCheck: refused });
    expect(s).toMatchObject({ phase: 'Failed', printableStatus: 'EngineRefused' });
    const byType = Object.fromEntries((s.conditions ?? []).map((c) => [c.type, c]));
    expect(byType.EngineAccepted).toMatchObject({ status: 'False', message: refused.message });
    expect(byType.Ready).toMatchObject({ status: 'False', reason: 'EngineRefused' });
    const accepted = computeVmStatus({
      ...base,
      acceptedCheck: { ok: true, reason: 'Accepted', message: 'taken' },
    });
    expect(accepted.printableStatus).toBe('Pending');
    expect(accepted.conditions?.find((c) => c.type === 'EngineAccepted')?.status).toBe('True');
  });

  it('mirrors a running VM: phase, power, node, IPs, interfaces, guest OS and the class applied', () => {
    const s = computeVmStatus({
      ...base,
      applied: small,
      current: small,
      kv: { status: { printableStatus: 'Running', ready: true } } as never,
      vmi: {
        status: {
          nodeName: 'n1',
          interfaces: [{ name: 'default', mac: '52:54:00:00:00:01', ipAddress: '10.0.0.5' }],
          guestOSInfo: { name: 'Debian', version: '12' },
        },
      } as never,
    });
    expect(s).toMatchObject({
      phase: 'Running',
      printableStatus: 'Running',
      powerState: 'PoweredOn',
      nodeName: 'n1',
      primaryIP: '10.0.0.5',
      ipAddresses: ['10.0.0.5'],
      interfaces: [{ name: 'default', macAddress: '52:54:00:00:00:01', ipAddresses: ['10.0.0.5'] }],
      guestOS: { name: 'Debian', version: '12' },
      class: { name: 'small', cpus: 2, memory: '4Gi', reservation: 'BestEffort', generation: 1 },
    });
    expect(s.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'True',
      reason: 'Ready',
    });
  });

  it('marks a restart pending when the class changed while the VM runs', () => {
    const bigger = { ...small, cpus: 4, generation: 2 };
    expect(restartPending(small, bigger)).toBe(true);
    const s = computeVmStatus({
      ...base,
      applied: small,
      current: bigger,
      kv: { status: { printableStatus: 'Running' } } as never,
    });
    expect(s.restartPending).toBe(true);
    expect(s.conditions?.find((c) => c.type === 'RestartPending')).toMatchObject({
      status: 'True',
      reason: 'ClassChanged',
    });
  });

  it('adds PowerAction=False when the engine refused a power action', () => {
    const s = computeVmStatus({
      ...base,
      powerCheck: { ok: false, reason: 'PowerActionFailed', message: 'HTTP 404' },
    });
    expect(s.conditions?.at(-1)).toEqual({
      type: 'PowerAction',
      status: 'False',
      reason: 'PowerActionFailed',
      message: 'HTTP 404',
      lastTransitionTime: 'T1',
      observedGeneration: 0,
    });
  });

  it('keeps lastTransitionTime of conditions whose status did not change', () => {
    const first = computeVmStatus(base);
    const later = computeVmStatus({ ...base, vm: { ...base.vm, status: first }, now: 'T2' });
    expect(later.conditions?.map((c) => c.lastTransitionTime)).toEqual(
      first.conditions?.map(() => 'T1'),
    );
  });
});
