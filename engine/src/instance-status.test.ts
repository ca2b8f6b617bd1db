// A table of truths: each field the engine writes on an instance, and the observation it needs.
// Without the observation the field stays unset. Expectations follow KubeVirt v1.7.0's
// pkg/virt-controller/watch/vmi/lifecycle.go and datavolumes.go.
import { describe, expect, it } from 'vitest';
import {
  instanceConditions,
  instanceStatus,
  readyCondition,
  withTransition,
  type InstanceObservation,
} from './instance-status.ts';

const running: InstanceObservation = {
  phase: 'Running',
  nodeName: 'n1',
  interfaces: [{ name: 'default', mac: '52:54:00:00:00:01' }],
  readiness: { probe: 'none' },
};
const now = new Date('2026-12-06T10:00:00.123Z');

describe('what the engine writes only once it saw it', () => {
  const truths: [string, InstanceObservation, (s: Record<string, any>) => unknown, unknown][] = [
    ['no address before the guest took one', running, (s) => s.interfaces[0].ipAddress, undefined],
    [
      'the address the guest took',
      { ...running, interfaces: [{ name: 'default', mac: 'm', ip: '10.0.2.15' }] },
      (s) => s.interfaces[0].ipAddresses,
      ['10.0.2.15'],
    ],
    ['no node before a process runs', { phase: 'Pending' }, (s) => s.nodeName, undefined],
    [
      'no interfaces once the guest is gone',
      { ...running, phase: 'Succeeded' },
      (s) => s.interfaces,
      null,
    ],
    [
      'not Ready while the readiness probe has not passed',
      { ...running, readiness: { probe: 'guestAgentPing', succeeded: false, message: 'no agent' } },
      (s) => s.conditions.find((c: { type: string }) => c.type === 'Ready').status,
      'False',
    ],
    [
      'Ready once the probe passed',
      { ...running, readiness: { probe: 'tcpSocket', succeeded: true, message: '' } },
      (s) => s.conditions.find((c: { type: string }) => c.type === 'Ready').status,
      'True',
    ],
    [
      'no DataVolumesReady for an instance with no DataVolume',
      running,
      (s) => s.conditions.find((c: { type: string }) => c.type === 'DataVolumesReady'),
      undefined,
    ],
    ['no reason on a Running instance', running, (s) => s.reason, undefined],
  ];
  for (const [what, o, pick, expected] of truths)
    it(what, () => expect(pick(instanceStatus(o, undefined, now))).toEqual(expected));
});

describe('readyCondition', () => {
  it('uses KubeVirt’s reasons for each state', () => {
    expect(readyCondition({ phase: 'Pending' })).toMatchObject({ reason: 'PodNotExists' });
    expect(readyCondition({ phase: 'Scheduling', unschedulable: 'no room' })).toMatchObject({
      reason: 'GuestNotRunning',
    });
    expect(readyCondition({ phase: 'Succeeded' })).toMatchObject({ reason: 'PodTerminating' });
    expect(readyCondition(running)).toEqual({ type: 'Ready', status: 'True' });
    expect(readyCondition({ ...running, paused: true })).toMatchObject({
      status: 'False',
      reason: 'ReadinessGatesNotReady',
    });
  });
});

describe('instanceConditions', () => {
  it('a missing claim: Synchronized and PodScheduled with virt-controller’s words', () => {
    const c = instanceConditions({ phase: 'Pending', claimMissing: 'ns/data' });
    const text = 'PVC ns/data does not exist, waiting for it to appear';
    expect(c).toContainEqual({
      type: 'Synchronized',
      status: 'False',
      reason: 'FailedPvcNotFound',
      message: text,
    });
    expect(c).toContainEqual({
      type: 'PodScheduled',
      status: 'False',
      reason: 'Unschedulable',
      message: text,
    });
  });
  it('DataVolumesReady only with DataVolumes, and Paused only when paused', () => {
    expect(
      instanceConditions({ ...running, dataVolumes: [{ name: 'a', ready: true }] }),
    ).toContainEqual(
      expect.objectContaining({ type: 'DataVolumesReady', status: 'True', reason: 'AllDVsReady' }),
    );
    expect(instanceConditions({ ...running, paused: true })).toContainEqual(
      expect.objectContaining({ type: 'Paused', status: 'True', reason: 'PausedByUser' }),
    );
    expect(instanceConditions(running).map((c) => c.type)).toEqual(['Ready']);
  });
});

describe('withTransition', () => {
  it('appends a phase once, with the time to the second', () => {
    const one = withTransition(undefined, 'Pending', now);
    expect(one).toEqual([{ phase: 'Pending', phaseTransitionTimestamp: '2026-12-06T10:00:00Z' }]);
    expect(withTransition(one, 'Pending', now)).toEqual(one);
    const two = withTransition(one, 'Running', now);
    expect(two.map((p) => p.phase)).toEqual(['Pending', 'Running']);
    // A phase seen before is not added again.
    expect(
      withTransition(
        [...two, { phase: 'Scheduling', phaseTransitionTimestamp: 'x' }],
        'Running',
        now,
      ),
    ).toHaveLength(3);
  });
});

describe("the guest agent's part (virt-handler's updateGuestAgentConditions)", () => {
  const os = { name: 'Debian GNU/Linux', id: 'debian', versionId: '12' };
  const heard: InstanceObservation = {
    ...running,
    interfaces: [{ name: 'default', mac: '52:54:00:00:00:01', ip: '10.0.2.15' }],
    agent: {
      connected: true,
      os,
      interfaces: [
        { interfaceName: 'enp1s0', mac: '52:54:00:00:00:01', ip: '10.0.2.15', ips: ['10.0.2.15'] },
      ],
    },
  };
  it('AgentConnected True with its probe time, the OS info, interfaces from the agent too', () => {
    const s = instanceStatus(heard, undefined, now);
    expect(s.conditions).toContainEqual({
      type: 'AgentConnected',
      status: 'True',
      lastProbeTime: '2026-12-06T10:00:00Z',
    });
    expect(s.guestOSInfo).toEqual(os);
    expect(s.interfaces).toEqual([
      {
        name: 'default',
        mac: '52:54:00:00:00:01',
        interfaceName: 'enp1s0',
        ipAddress: '10.0.2.15',
        ipAddresses: ['10.0.2.15'],
        infoSource: 'domain, guest-agent',
      },
    ]);
    // The probe time stays while the condition holds: no write for an unchanged agent.
    const later = instanceStatus(heard, s as never, new Date('2026-12-06T11:00:00Z'));
    expect(later.conditions).toEqual(s.conditions);
  });
  it('nothing from the agent once it is not heard: no condition, no OS info, domain only', () => {
    for (const o of [
      { ...heard, agent: { connected: false } },
      { ...heard, agent: undefined },
      { ...heard, phase: 'Succeeded' as const },
    ]) {
      const s = instanceStatus(o, undefined, now);
      const types = (s.conditions as { type: string }[]).map((c) => c.type);
      expect(types).not.toContain('AgentConnected');
      expect(s.guestOSInfo).toBeNull();
      for (const i of (s.interfaces as { infoSource: string }[] | null) ?? [])
        expect(i.infoSource).toBe('domain');
    }
  });
  it('AgentVersionNotSupported while a connected agent lacks a required command', () => {
    const o = { ...heard, agent: { connected: true, unsupported: 'no basic commands' } };
    expect(instanceConditions(o)).toContainEqual({
      type: 'AgentVersionNotSupported',
      status: 'True',
      reason: 'no basic commands',
    });
  });
});
