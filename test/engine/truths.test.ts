// The local engine writes only what it observed. Each case makes one observation false and checks
// the field it would support stays unset, with the answer KubeVirt v1.7.0 gives (the source file
// each expectation follows is named beside it). One tiny Linux guest is booted and shared.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINY_PROMPT } from '../../engine/src/tiny-linux.ts';
import {
  kubevirtVm,
  startTestEngine,
  tinyDataVolume,
  type Obj,
  type TestEngine,
} from '../support/engine.ts';

let t: TestEngine;
const pod = { pod: {} };
const card = { interfaces: [{ name: 'default', masquerade: {} }] };
const condition = (o: Obj | undefined, type: string): Record<string, unknown> | undefined =>
  (o?.status?.conditions as { type: string }[] | undefined)?.find((c) => c.type === type);

beforeAll(async () => {
  t = await startTestEngine('truths');
}, 300_000);

afterAll(async () => {
  await t?.stop();
});

describe('a guest with nothing to boot (no disk)', () => {
  beforeAll(async () => {
    await t.rest.create(
      kubevirtVm(
        t.ns,
        'bare',
        {},
        { networks: [{ name: 'default', ...pod }] },
        { devices: card },
      ) as never,
    );
  });

  it('runs firmware only: QEMU gets no kernel, and no address is reported since the guest never asks', async () => {
    const vmi = await t.until('the instance Running', async () => {
      const x = await t.get(t.vmiPath('bare'));
      return x?.status?.phase === 'Running' ? x : undefined;
    });
    const pid = t.engine.running.get(`${t.ns}/bare`)?.child.pid;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(cmdline).not.toContain('-kernel');
    // Nothing in it asks for an address: some seconds later there is still none
    // (pkg/virt-handler: interface addresses come from the domain or the guest agent).
    await new Promise((r) => setTimeout(r, 8_000));
    const later = await t.get(t.vmiPath('bare'));
    const iface = (later?.status?.interfaces as Record<string, unknown>[] | undefined)?.[0];
    expect(iface).toMatchObject({ name: 'default' });
    expect(iface?.ipAddress).toBeUndefined();
    expect(vmi.status?.nodeName).toBeTruthy();
  }, 120_000);

  it('has no DataVolumesReady condition: it has no DataVolume (virt-controller sets it only for DataVolumes)', async () => {
    const vmi = await t.get(t.vmiPath('bare'));
    const vm = await t.get(t.vmPath('bare'));
    // pkg/virt-controller/watch/vmi/datavolumes.go, aggregateDataVolumesConditions: none without DVs.
    expect(condition(vmi, 'DataVolumesReady')).toBeUndefined();
    expect(condition(vm, 'DataVolumesReady')).toBeUndefined();
  });
});

describe('a guest booted from the library image, with a readiness probe', () => {
  const name = 'probed';
  beforeAll(async () => {
    await t.rest.create(
      kubevirtVm(
        t.ns,
        name,
        {
          runStrategy: 'Manual',
          dataVolumeTemplates: [tinyDataVolume('probed-root', t.storageClass)],
        },
        {
          networks: [{ name: 'default', ...pod }],
          volumes: [{ name: 'root', dataVolume: { name: 'probed-root' } }],
          readinessProbe: { guestAgentPing: {}, initialDelaySeconds: 1, periodSeconds: 2 },
        },
        { devices: { ...card, disks: [{ name: 'root', disk: { bus: 'virtio' } }] } },
      ) as never,
    );
  });

  it('its disk holds the image’s bytes, not a blank disk', async () => {
    // Manual: started by a start request, and its finished instance stays to be looked at.
    await t.until('the DataVolume provided', async () => {
      const dv = await t.get(
        `/apis/cdi.kubevirt.io/v1beta1/namespaces/${t.ns}/datavolumes/probed-root`,
      );
      return dv?.status?.phase === 'Succeeded';
    });
    await t.engine.start(t.ns, name);
    await t.until('the guest process', async () => t.engine.running.get(`${t.ns}/${name}`));
    const serial = t.engine.running.get(`${t.ns}/${name}`)!.serial;
    await serial.waitFor(TINY_PROMPT, 90_000);
    const from = serial.output.length;
    // The library's tiny Linux image is the initramfs (a cpio archive: "070701").
    serial.type('echo magic=$(head -c 6 /dev/vda)\n');
    await serial.waitFor('magic=070701', 30_000, from);
  }, 150_000);

  it('reports the address the guest took by DHCP, the one the guest itself printed', async () => {
    const serial = t.engine.running.get(`${t.ns}/${name}`)!.serial;
    const printed = /eth0: (\d+\.\d+\.\d+\.\d+)/.exec(serial.output)?.[1];
    expect(printed).toBeTruthy();
    const vmi = await t.until('an address on the instance', async () => {
      const x = await t.get(t.vmiPath(name));
      return (x?.status?.interfaces as { ipAddress?: string }[] | undefined)?.[0]?.ipAddress
        ? x
        : undefined;
    });
    expect(vmi.status?.interfaces[0]).toMatchObject({ ipAddress: printed, ipAddresses: [printed] });
  }, 60_000);

  it('is not Ready: the guest agent ping cannot pass without an agent (the launcher pod stays unready)', async () => {
    await new Promise((r) => setTimeout(r, 5_000));
    const vmi = await t.get(t.vmiPath(name));
    expect(vmi?.status?.phase).toBe('Running');
    // pkg/virt-controller/watch/vmi/lifecycle.go, syncReadyConditionFromPod: the pod's Ready
    // condition, which kubelet sets False with ContainersNotReady while the probe fails.
    expect(condition(vmi, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ContainersNotReady',
    });
    // pkg/virt-handler/vm.go calculateLiveMigrationCondition: its DataVolume's claim is
    // ReadWriteOnce (the class's CDI StorageProfile says so), so it cannot move.
    expect(condition(vmi, 'LiveMigratable')).toMatchObject({
      status: 'False',
      reason: 'DisksNotLiveMigratable',
      message: expect.stringContaining('PVC probed-root is not shared'),
    });
    const vm = await t.get(t.vmPath(name));
    expect(vm?.status?.printableStatus).toBe('Running');
    // KubeVirt leaves ready out when it is false (omitempty).
    expect(vm?.status?.ready).toBeUndefined();
  }, 30_000);

  it('records each phase it went through with its time', async () => {
    const vmi = await t.get(t.vmiPath(name));
    const phases = (vmi?.status?.phaseTransitionTimestamps as { phase: string }[]).map(
      (p) => p.phase,
    );
    expect(phases).toContain('Running');
    expect(phases.indexOf('Running')).toBeGreaterThan(phases.indexOf('Pending'));
  });

  it('once the guest powers itself off: Succeeded, not Ready, no interfaces, and the VM Stopped', async () => {
    const serial = t.engine.running.get(`${t.ns}/${name}`)!.serial;
    serial.type('poweroff -f\n');
    const vmi = await t.until('the instance Succeeded', async () => {
      const x = await t.get(t.vmiPath(name));
      return x?.status?.phase === 'Succeeded' ? x : undefined;
    });
    // pkg/virt-controller/watch/vmi/lifecycle.go: a finished guest's launcher is terminating.
    expect(condition(vmi, 'Ready')).toMatchObject({ status: 'False', reason: 'PodTerminating' });
    expect(vmi.status?.interfaces ?? []).toEqual([]);
    const vm = await t.until('the VM Stopped', async () => {
      const x = await t.get(t.vmPath(name));
      return x?.status?.printableStatus === 'Stopped' ? x : undefined;
    });
    expect(vm.status?.ready).toBeUndefined();
    expect(t.engine.running.has(`${t.ns}/${name}`)).toBe(false);
  }, 60_000);
});

describe('a VM whose claim does not exist', () => {
  it('waits Pending with FailedPvcNotFound, and the VM says ErrorPvcNotFound (no backoff, no guest)', async () => {
    await t.rest.create(
      kubevirtVm(
        t.ns,
        'claimless',
        {},
        { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'nowhere' } }] },
        { devices: { disks: [{ name: 'data', disk: { bus: 'virtio' } }] } },
      ) as never,
    );
    // pkg/virt-controller/watch/vm/vm.go: printableStatus ErrorPvcNotFound from the instance's
    // Synchronized=False FailedPvcNotFound condition (pkg/virt-controller/watch/vmi/datavolumes.go).
    const vm = await t.until('the VM ErrorPvcNotFound', async () => {
      const x = await t.get(t.vmPath('claimless'));
      return x?.status?.printableStatus === 'ErrorPvcNotFound' ? x : undefined;
    });
    expect(vm.status?.ready).toBeUndefined();
    const vmi = await t.get(t.vmiPath('claimless'));
    expect(vmi?.status?.phase).toBe('Pending');
    expect(condition(vmi, 'Synchronized')).toMatchObject({
      status: 'False',
      reason: 'FailedPvcNotFound',
      message: `PVC ${t.ns}/nowhere does not exist, waiting for it to appear`,
    });
    expect(condition(vmi, 'Ready')).toMatchObject({ status: 'False', reason: 'PodNotExists' });
    expect(t.engine.running.has(`${t.ns}/claimless`)).toBe(false);
  }, 60_000);
});

describe('instance types, as virt-controller applies them', () => {
  it('a VM whose instance type does not exist gets no instance, and its Failure names it', async () => {
    await t.rest.create({
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: { name: 'typeless', namespace: t.ns },
      spec: {
        runStrategy: 'Always',
        instancetype: { name: `nowhere-${t.ns}` },
        template: { spec: { domain: { devices: {} } } },
      },
    } as never);
    // pkg/instancetype/controller/vm: FailedFindInstancetype with the API server's not-found text.
    const vm = await t.until('the VM’s Failure', async () => {
      const x = await t.get(t.vmPath('typeless'));
      return condition(x, 'Failure') ? x : undefined;
    });
    expect(condition(vm, 'Failure')).toMatchObject({
      status: 'True',
      reason: 'FailedFindInstancetype',
      message: `virtualmachineclusterinstancetypes.instancetype.kubevirt.io "nowhere-${t.ns}" not found`,
    });
    expect(vm.status?.printableStatus).toBe('Stopped');
    expect(await t.get(t.vmiPath('typeless'))).toBeUndefined();
  }, 60_000);

  it('one that exists gives the instance its vCPUs (as sockets) and memory, and names it', async () => {
    const typeName = `small-${t.ns}`;
    await t.rest.create({
      apiVersion: 'instancetype.kubevirt.io/v1beta1',
      kind: 'VirtualMachineClusterInstancetype',
      metadata: { name: typeName },
      spec: { cpu: { guest: 2 }, memory: { guest: '96Mi' } },
    } as never);
    try {
      await t.rest.create({
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachine',
        metadata: { name: 'typed', namespace: t.ns },
        spec: {
          runStrategy: 'Always',
          instancetype: { name: typeName },
          template: { spec: { domain: { devices: {} } } },
        },
      } as never);
      const vmi = await t.until('the instance', () => t.get(t.vmiPath('typed')));
      const spec = vmi.spec as { domain: { cpu: object; memory: object } };
      expect(spec.domain.cpu).toEqual({ sockets: 2, cores: 1, threads: 1 });
      expect(spec.domain.memory).toEqual({ guest: '96Mi' });
      expect((vmi.metadata as { annotations?: object }).annotations).toMatchObject({
        'kubevirt.io/cluster-instancetype-name': typeName,
      });
    } finally {
      await t.rest.request(
        'DELETE',
        `/apis/kubevirt.io/v1/namespaces/${t.ns}/virtualmachines/typed`,
      );
      await t.rest.request(
        'DELETE',
        `/apis/instancetype.kubevirt.io/v1beta1/virtualmachineclusterinstancetypes/${typeName}`,
      );
    }
  }, 60_000);
});
