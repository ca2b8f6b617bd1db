import { describe, expect, it } from 'vitest';
import { vm } from '../../../test/support/builders.ts';
import {
  agentCheck,
  migratableCheck,
  computeVmStatus,
  guestOSOf,
  phaseOf,
  powerStateOf,
  restartPending,
} from './status.ts';
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
      'AgentConnected=False:NotRunning',
      'LiveMigratable=False:NotRunning',
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
          conditions: [{ type: 'AgentConnected', status: 'True' }],
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

describe('the guest agent', () => {
  const debian = {
    name: 'Debian GNU/Linux',
    prettyName: 'Debian GNU/Linux 12 (bookworm)',
    id: 'debian',
    version: '12 (bookworm)',
    versionId: '12',
    kernelRelease: '6.1.0-31-amd64',
    kernelVersion: '#1 SMP PREEMPT_DYNAMIC Debian 6.1.128-1 (2025-02-07)',
    machine: 'x86_64',
  };
  const vmi = (connected: 'True' | 'False' | undefined, phase = 'Running') =>
    ({
      status: {
        phase,
        guestOSInfo: debian,
        conditions: connected ? [{ type: 'AgentConnected', status: connected }] : [],
      },
    }) as never;

  it("copies every field of the VMI's guestOSInfo while the agent is connected", () => {
    expect(guestOSOf(vmi('True'))).toEqual({
      name: 'Debian GNU/Linux',
      prettyName: 'Debian GNU/Linux 12 (bookworm)',
      id: 'debian',
      version: '12 (bookworm)',
      versionId: '12',
      kernel: '6.1.0-31-amd64',
      kernelVersion: '#1 SMP PREEMPT_DYNAMIC Debian 6.1.128-1 (2025-02-07)',
      machine: 'x86_64',
    });
    expect(
      guestOSOf({ status: { conditions: [{ type: 'AgentConnected', status: 'True' }] } } as never),
    ).toBeUndefined();
  });

  it('claims no OS once the agent is gone (KubeVirt leaves the last report in place)', () => {
    expect(guestOSOf(vmi(undefined))).toBeUndefined();
    expect(guestOSOf(vmi('False'))).toBeUndefined();
    expect(computeVmStatus({ ...base, vmi: vmi(undefined) }).guestOS).toBeUndefined();
  });

  it('says AgentConnected, and why not', () => {
    expect(agentCheck(vmi('True'))).toEqual({
      ok: true,
      reason: 'AgentConnected',
      message: 'the QEMU guest agent answers; the guest runs Debian GNU/Linux 12 (bookworm)',
    });
    expect(agentCheck(vmi(undefined))).toMatchObject({ ok: false, reason: 'AgentNotConnected' });
    expect(agentCheck(vmi('False'))).toMatchObject({ ok: false, reason: 'AgentNotConnected' });
    expect(agentCheck(vmi('True', 'Scheduling'))).toMatchObject({
      ok: false,
      reason: 'NotRunning',
    });
    expect(agentCheck(undefined)).toMatchObject({ ok: false, reason: 'NotRunning' });
    const s = computeVmStatus({ ...base, vmi: vmi('True') });
    expect(s.conditions?.find((c) => c.type === 'AgentConnected')).toMatchObject({
      status: 'True',
      reason: 'AgentConnected',
    });
  });
});

describe('migratableCheck', () => {
  const running = (conditions: object[]) =>
    ({ status: { phase: 'Running', conditions } }) as unknown as Parameters<
      typeof migratableCheck
    >[0];
  it('mirrors KubeVirt’s LiveMigratable, saying in vmplane’s terms what to change', () => {
    expect(migratableCheck(running([{ type: 'LiveMigratable', status: 'True' }]))).toMatchObject({
      ok: true,
      reason: 'LiveMigratable',
    });
    expect(
      migratableCheck(
        running([
          {
            type: 'LiveMigratable',
            status: 'False',
            reason: 'DisksNotLiveMigratable',
            message: 'cannot migrate VMI: PVC web-root is not shared',
          },
        ]),
      ),
    ).toEqual({
      ok: false,
      reason: 'DisksNotLiveMigratable',
      message:
        'cannot migrate VMI: PVC web-root is not shared: give the VM disks on a StorageClass whose StorageProfile offers ReadWriteMany (kubectl get storageprofile)',
    });
    expect(migratableCheck(running([]))).toMatchObject({ ok: false, reason: 'Unknown' });
    expect(migratableCheck(undefined)).toMatchObject({ ok: false, reason: 'NotRunning' });
  });
});
