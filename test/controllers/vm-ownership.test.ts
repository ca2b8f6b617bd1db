// What a VM owns, against a real API server with KubeVirt's and CDI's CRDs: deleting it removes
// its KubeVirt VM and DataVolumes and keeps the VirtualMachineDisks and DataVolumes users made; a
// DataVolume deleted outside vmplane after it was ready is reported lost; a foreign KubeVirt VM of
// its name is left alone, said, and kept when the VM goes. The test plays KubeVirt and CDI
// (test/support/vm-controller.ts).
import { describe, expect, it } from 'vitest';
import { API_VERSION } from '../../api/src/wellknown.ts';
import { BLANK_DATA_VOLUME_SPEC, dataVolumesFromTemplates } from '../support/builders.ts';
import { bootDataVolumeName, diskDataVolumeName } from '../../controllers/src/vm/names.ts';
import {
  condition,
  get,
  kvPath,
  merge,
  ns,
  rest,
  until,
  vm,
  vmPath,
  startVmControllers,
} from '../support/vm-controller.ts';

startVmControllers();

describe('VirtualMachine controller', () => {
  it('deleting a VM removes what it created and keeps the disks users made', async () => {
    await rest.create({
      apiVersion: API_VERSION,
      kind: 'VirtualMachineDisk',
      metadata: { name: 'keep', namespace: ns },
      spec: {
        size: '5Gi',
        storageClassName: 'ceph',
        accessModes: ['ReadWriteMany'],
        volumeMode: 'Block',
      },
    });
    await rest.create(
      vm('tmp', {
        disks: [
          {
            name: 'scratch',
            size: '1Gi',
            storageClassName: 'ceph',
            accessModes: ['ReadWriteMany'],
            volumeMode: 'Block',
          },
          { name: 'keep', virtualMachineDiskName: 'keep' },
        ],
      }),
    );
    const kv = await until('engine VM', () => get(kvPath('tmp')));
    // What KubeVirt makes from the templates: their labels and annotations, owned by its VM.
    const made = (kv.spec.dataVolumeTemplates as { metadata: Record<string, unknown> }[]).map(
      (t) => t.metadata.name as string,
    );
    expect(made).toEqual([bootDataVolumeName('tmp'), diskDataVolumeName('tmp', 'scratch')]);
    for (const dv of dataVolumesFromTemplates(kv as never)) await rest.create(dv as never);
    // A user's DataVolume with the VM's label, and one with the old-style name: not the VM's.
    for (const dv of ['tmp-boot', 'tmp-scratch'])
      await rest.create({
        apiVersion: 'cdi.kubevirt.io/v1beta1',
        kind: 'DataVolume',
        metadata: { name: dv, namespace: ns, labels: { 'vmplane.io/vm': 'tmp' } },
        spec: BLANK_DATA_VOLUME_SPEC,
      });
    await rest.request('DELETE', vmPath('tmp'));
    await until('the VM gone', async () => !(await get(vmPath('tmp'))));
    expect(await get(kvPath('tmp'))).toBeUndefined();
    for (const dv of made)
      expect(
        await get(`/apis/cdi.kubevirt.io/v1beta1/namespaces/${ns}/datavolumes/${dv}`),
      ).toBeUndefined();
    for (const dv of ['tmp-boot', 'tmp-scratch'])
      expect(
        await get(`/apis/cdi.kubevirt.io/v1beta1/namespaces/${ns}/datavolumes/${dv}`),
      ).toBeDefined();
    expect(
      await get(`/apis/${API_VERSION}/namespaces/${ns}/virtualmachinedisks/keep`),
    ).toBeDefined();
  });

  it("leaves a user's DataVolume carrying the VM's label and owner-UID annotation alone", async () => {
    const created = (await rest.create(vm('lookalike'))) as { metadata: { uid: string } };
    await until('engine VM', () => get(kvPath('lookalike')));
    // Both are readable and writable by anyone who may create DataVolumes in the namespace.
    const dvs = `/apis/cdi.kubevirt.io/v1beta1/namespaces/${ns}/datavolumes`;
    const theirs = {
      apiVersion: 'cdi.kubevirt.io/v1beta1',
      kind: 'DataVolume',
      metadata: {
        name: 'users-data',
        namespace: ns,
        labels: { 'vmplane.io/vm': 'lookalike', 'app.kubernetes.io/managed-by': 'vmplane' },
        annotations: { 'vmplane.io/owner-uid': created.metadata.uid },
      },
      spec: BLANK_DATA_VOLUME_SPEC,
    };
    const before = (await rest.create(theirs as never)) as {
      metadata: { uid: string; resourceVersion: string };
    };
    await rest.request('DELETE', vmPath('lookalike'));
    await until('the VM gone', async () => !(await get(vmPath('lookalike'))));
    const after = (await get(`${dvs}/users-data`)) as
      { metadata: { uid: string; resourceVersion: string } } | undefined;
    expect(after?.metadata.uid, 'not deleted').toBe(before.metadata.uid);
    expect(after?.metadata.resourceVersion, 'not updated').toBe(before.metadata.resourceVersion);
  });

  it('says so when a disk is deleted outside vmplane after it was ready', async () => {
    await rest.create(
      vm('keeper', {
        disks: [
          {
            name: 'data',
            size: '1Gi',
            storageClassName: 'ceph',
            accessModes: ['ReadWriteMany'],
            volumeMode: 'Block',
          },
        ],
      }),
    );
    const kv = await until('engine VM', () => get(kvPath('keeper')));
    const dvs = `/apis/cdi.kubevirt.io/v1beta1/namespaces/${ns}/datavolumes`;
    // What KubeVirt and CDI would do: the DataVolumes from the templates, imported.
    for (const dv of dataVolumesFromTemplates(kv as never)) {
      const t = dv as { metadata: { name: string } };
      await rest.request('POST', dvs, { body: dv });
      await merge(`${dvs}/${t.metadata.name}/status`, { status: { phase: 'Succeeded' } });
    }
    await until('DisksReady', async () => {
      const v = await get(vmPath('keeper'));
      return condition(v, 'DisksReady')?.status === 'True' ? v : undefined;
    });
    await rest.request('DELETE', `${dvs}/${diskDataVolumeName('keeper', 'data')}`);
    const v = await until('ClaimLost', async () => {
      const x = await get(vmPath('keeper'));
      return condition(x, 'DisksReady')?.reason === 'ClaimLost' ? x : undefined;
    });
    expect(condition(v, 'DisksReady')?.message).toContain(
      `DataVolume ${diskDataVolumeName('keeper', 'data')} was deleted outside vmplane after the disk was ready`,
    );
  });

  it('leaves a foreign KubeVirt VM of the same name alone, says NameInUse, and keeps it when deleted', async () => {
    const foreign = (await rest.create({
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: { name: 'theirs', namespace: ns },
      spec: { runStrategy: 'Halted', template: { spec: { domain: { devices: {} } } } },
    })) as { metadata: { resourceVersion: string; uid: string } };
    await rest.create(vm('theirs'));
    const v = await until('NameInUse', async () => {
      const x = await get(vmPath('theirs'));
      return condition(x, 'EngineAvailable')?.reason === 'NameInUse' ? x : undefined;
    });
    expect(v.status?.printableStatus).toBe('NameInUse');
    expect(condition(v, 'EngineAvailable')?.message).toContain(
      `KubeVirt VirtualMachine ${ns}/theirs (uid ${foreign.metadata.uid}) not owned by vmplane`,
    );
    const events = await rest.request<{
      items: { reason: string; involvedObject: { name: string } }[];
    }>('GET', `/api/v1/namespaces/${ns}/events`);
    expect(
      events.body.items.some((e) => e.reason === 'NameInUse' && e.involvedObject.name === 'theirs'),
    ).toBe(true);
    await rest.request('DELETE', vmPath('theirs'));
    await until('the VM gone', async () => !(await get(vmPath('theirs'))));
    const after = await get(kvPath('theirs'));
    expect(after?.metadata.resourceVersion).toBe(foreign.metadata.resourceVersion);
  });
});
