import { describe, expect, it } from 'vitest';
import type { KvVmi } from './engine-context.ts';
import { LAUNCHER_IMAGE, launcherKeys, launcherPod, launcherStatus } from './launcher-pod.ts';
import type { DiskFile } from './volumes.ts';

const vmi: KvVmi = {
  metadata: { name: 'web', namespace: 'ns1', uid: 'vmi-uid' },
  spec: { terminationGracePeriodSeconds: 0 },
};
const disk = (
  volume: string,
  claimName: string,
  volumeMode: string,
  readOnly = false,
): DiskFile => ({
  volume,
  kind: 'claim',
  name: claimName,
  uid: 'u',
  sizeBytes: 1,
  claimName,
  volumeMode,
  ...(readOnly ? { readOnly } : {}),
});

describe('launcherPod', () => {
  it('is KubeVirt’s virt-launcher Pod: name, labels, owner, node, compute container, a volume per claim', () => {
    const pod = launcherPod(
      vmi,
      [disk('root', 'web-root', 'Filesystem'), disk('raw', 'web-raw', 'Block', true)],
      'n1',
    );
    expect(pod.metadata).toEqual({
      generateName: 'virt-launcher-web-',
      namespace: 'ns1',
      labels: {
        'kubevirt.io': 'virt-launcher',
        'kubevirt.io/created-by': 'vmi-uid',
        'vm.kubevirt.io/name': 'web',
      },
      annotations: {
        'kubevirt.io/domain': 'web',
        'kubectl.kubernetes.io/default-container': 'compute',
      },
      ownerReferences: [
        {
          apiVersion: 'kubevirt.io/v1',
          kind: 'VirtualMachineInstance',
          name: 'web',
          uid: 'vmi-uid',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    });
    expect(pod.spec).toMatchObject({
      nodeName: 'n1',
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 15,
      containers: [
        {
          name: 'compute',
          image: LAUNCHER_IMAGE,
          volumeMounts: [{ name: 'root', mountPath: '/var/run/kubevirt-private/vmi-disks/root' }],
          volumeDevices: [{ name: 'raw', devicePath: '/dev/raw' }],
        },
      ],
      volumes: [
        { name: 'root', persistentVolumeClaim: { claimName: 'web-root' } },
        { name: 'raw', persistentVolumeClaim: { claimName: 'web-raw', readOnly: true } },
      ],
    });
    expect(LAUNCHER_IMAGE).toBe('quay.io/kubevirt/virt-launcher:v1.7.0');
  });

  it('carries the instance’s labels, as virt-controller copies them, under its own', () => {
    const labelled = {
      ...vmi,
      metadata: { ...vmi.metadata, labels: { app: 'web', 'kubevirt.io': 'x' } },
    };
    expect(launcherPod(labelled, [], 'n1').metadata?.labels).toEqual({
      app: 'web',
      'kubevirt.io': 'virt-launcher',
      'kubevirt.io/created-by': 'vmi-uid',
      'vm.kubevirt.io/name': 'web',
    });
  });

  it('has no volumes without claims', () => {
    const c = launcherPod(vmi, [], 'n1').spec.containers as object[];
    expect(launcherPod(vmi, [], 'n1').spec.volumes).toEqual([]);
    expect(c[0]).not.toHaveProperty('volumeMounts');
  });
});

describe('launcherStatus', () => {
  const startedAt = new Date('2026-01-01T00:00:00Z');
  const finishedAt = new Date('2026-01-01T00:01:00Z');
  it('is Running with the compute container running while QEMU runs', () => {
    expect(launcherStatus({ phase: 'Running', startedAt })).toMatchObject({
      phase: 'Running',
      startTime: '2026-01-01T00:00:00.000Z',
      conditions: expect.arrayContaining([
        expect.objectContaining({ type: 'Ready', status: 'True' }),
      ]),
      containerStatuses: [
        {
          name: 'compute',
          ready: true,
          state: { running: { startedAt: '2026-01-01T00:00:00.000Z' } },
        },
      ],
    });
  });
  it('carries the pod IP the node network gave the pod, and none without one', () => {
    expect(launcherStatus({ phase: 'Running', startedAt, podIP: '10.244.0.7' })).toMatchObject({
      podIP: '10.244.0.7',
      podIPs: [{ ip: '10.244.0.7' }],
    });
    expect(launcherStatus({ phase: 'Running', startedAt })).not.toHaveProperty('podIP');
  });
  it('is Succeeded or Failed, the container terminated with its exit code, once QEMU ended', () => {
    const done = launcherStatus({ phase: 'Succeeded', startedAt, finishedAt, exitCode: 0 });
    expect(done).toMatchObject({
      phase: 'Succeeded',
      conditions: expect.arrayContaining([
        expect.objectContaining({ type: 'Ready', status: 'False', reason: 'PodCompleted' }),
      ]),
      containerStatuses: [
        { ready: false, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
      ],
    });
    const failed = launcherStatus({ phase: 'Failed', startedAt, finishedAt, exitCode: 1 });
    expect(failed).toMatchObject({
      phase: 'Failed',
      containerStatuses: [{ state: { terminated: { exitCode: 1, reason: 'Error' } } }],
    });
  });
});

describe('the launcher Pods the engine watches', () => {
  it('map to their instance’s key; other Pods to none', () => {
    const pod = (labels: Record<string, string>, namespace = 'ns') => ({
      metadata: { namespace, labels },
    });
    expect(
      launcherKeys(pod({ 'kubevirt.io': 'virt-launcher', 'vm.kubevirt.io/name': 'vm1' })),
    ).toEqual(['ns/vm1']);
    expect(
      launcherKeys(pod({ 'kubevirt.io': 'virt-handler', 'vm.kubevirt.io/name': 'vm1' })),
    ).toEqual([]);
    expect(launcherKeys(pod({ 'kubevirt.io': 'virt-launcher' }))).toEqual([]);
    expect(launcherKeys({ metadata: {} })).toEqual([]);
  });
});
