// The VirtualMachineDisk controller against a real API server with CDI's CRDs: the DataVolume it
// makes and the import it follows, growth of the claim, a claim or DataVolume of its name left
// alone, storage lost after Ready, and protection while a VM uses the disk. The test plays CDI and
// the storage system (test/support/vm-controller.ts).
import { describe, expect, it } from 'vitest';
import { API_VERSION } from '../../api/src/wellknown.ts';
import { BLANK_DATA_VOLUME_SPEC } from '../support/builders.ts';
import {
  condition,
  controllers,
  get,
  merge,
  ns,
  rest,
  suffix,
  until,
  vm,
  vmPath,
  startVmControllers,
} from '../support/vm-controller.ts';

startVmControllers();

describe('VirtualMachineDisk controller', () => {
  const diskPath = (name: string): string =>
    `/apis/${API_VERSION}/namespaces/${ns}/virtualmachinedisks/${name}`;
  const dvPath = (name: string): string =>
    `/apis/cdi.kubevirt.io/v1beta1/namespaces/${ns}/datavolumes/${name}`;

  it('makes a DataVolume with the storage settled at admission, and follows the import', async () => {
    await rest.create({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: `expandable-${suffix}` },
      provisioner: 'rbd.csi.ceph.com',
      allowVolumeExpansion: true,
    });
    await rest.create({
      apiVersion: API_VERSION,
      kind: 'VirtualMachineDisk',
      metadata: { name: 'root', namespace: ns },
      spec: {
        size: '10Gi',
        storageClassName: `expandable-${suffix}`,
        accessModes: ['ReadWriteMany'],
        volumeMode: 'Block',
        source: { image: { kind: 'ClusterVirtualMachineImage', name: `ubuntu-${suffix}` } },
      },
    });
    const dv = await until('the DataVolume', () => get(dvPath('root')));
    expect(dv.spec).toEqual({
      source: { http: { url: 'https://example.com/u.img' } },
      storage: {
        storageClassName: `expandable-${suffix}`,
        accessModes: ['ReadWriteMany'],
        volumeMode: 'Block',
        resources: { requests: { storage: '10Gi' } },
      },
    });
    await merge(`${dvPath('root')}/status`, {
      status: { phase: 'ImportInProgress', progress: '45.5%' },
    });
    const importing = await until('Importing', async () => {
      const d = await get(diskPath('root'));
      return d?.status?.phase === 'Importing' ? d : undefined;
    });
    expect(importing.status).toMatchObject({ progress: '45.5%', claimName: 'root' });
    await merge(`${dvPath('root')}/status`, { status: { phase: 'Succeeded', progress: '100.0%' } });
    await until('Ready', async () => (await get(diskPath('root')))?.status?.phase === 'Ready');
  });

  it('grows the claim when spec.size grows', async () => {
    // The claim CDI would have made for the DataVolume, owned by it.
    const dv = (await get(dvPath('root'))) as { metadata: { uid: string } } | undefined;
    await rest.create({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name: 'root',
        namespace: ns,
        // CDI copies the DataVolume's labels onto its claim.
        labels: { 'vmplane.io/disk': 'root', 'app.kubernetes.io/managed-by': 'vmplane' },
        ownerReferences: [
          {
            apiVersion: 'cdi.kubevirt.io/v1beta1',
            kind: 'DataVolume',
            name: 'root',
            uid: dv?.metadata.uid ?? '',
            controller: true,
          },
        ],
      },
      spec: {
        storageClassName: `expandable-${suffix}`,
        accessModes: ['ReadWriteMany'],
        resources: { requests: { storage: '10Gi' } },
      },
    });
    await merge(diskPath('root'), { spec: { size: '25Gi' } });
    // Kubernetes grows only bound claims: until then the disk says it waits.
    const waiting = await until('Resized waiting', async () => {
      const d = await get(diskPath('root'));
      return condition(d, 'Resized')?.reason === 'WaitingForBinding' ? d : undefined;
    });
    expect(condition(waiting, 'Resized')?.message).toBe('the claim grows to 25Gi once it is bound');
    // The storage binds it (the test plays the storage system).
    await merge(`/api/v1/namespaces/${ns}/persistentvolumeclaims/root/status`, {
      status: { phase: 'Bound', capacity: { storage: '10Gi' } },
    });
    await until(
      'the claim at 25Gi',
      async () =>
        (await get(`/api/v1/namespaces/${ns}/persistentvolumeclaims/root`))?.spec.resources.requests
          .storage === '25Gi',
    );
    // Asked for, not there yet: the disk says the storage is growing it, until it has.
    const resizing = await until('Resizing', async () => {
      const d = await get(diskPath('root'));
      return condition(d, 'Resized')?.reason === 'Resizing' ? d : undefined;
    });
    expect(condition(resizing, 'Resized')?.message).toMatch(
      /^the claim asks for 25Gi and has 10Gi so far/,
    );
    await merge(`/api/v1/namespaces/${ns}/persistentvolumeclaims/root/status`, {
      status: { capacity: { storage: '25Gi' } },
    });
    const grown = await until('grown', async () => {
      const d = await get(diskPath('root'));
      return d?.status?.capacity === '25Gi' && !condition(d, 'Resized') ? d : undefined;
    });
    expect(grown.status?.phase).toBe('Ready');
  });

  it("clones another disk once it is Ready: a DataVolume whose source is that disk's claim", async () => {
    await rest.create({
      apiVersion: API_VERSION,
      kind: 'VirtualMachineDisk',
      metadata: { name: 'copy', namespace: ns },
      spec: {
        size: '25Gi',
        storageClassName: `expandable-${suffix}`,
        accessModes: ['ReadWriteMany'],
        volumeMode: 'Block',
        source: { disk: { name: 'root' } },
      },
    });
    const dv = await until('the clone DataVolume', () => get(dvPath('copy')));
    expect(dv.spec.source).toEqual({ pvc: { name: 'root', namespace: ns } });
    expect(dv.spec.storage.resources).toEqual({ requests: { storage: '25Gi' } });
  });

  it("fails with CDI's reason and message when the importer stops on an error, and the VM says DataVolumeError", async () => {
    await rest.create({
      apiVersion: API_VERSION,
      kind: 'VirtualMachineDisk',
      metadata: { name: 'broken', namespace: ns },
      spec: {
        size: '10Gi',
        storageClassName: `expandable-${suffix}`,
        accessModes: ['ReadWriteMany'],
        volumeMode: 'Block',
        source: { image: { kind: 'ClusterVirtualMachineImage', name: `ubuntu-${suffix}` } },
      },
    });
    await rest.create({
      apiVersion: API_VERSION,
      kind: 'VirtualMachineDisk',
      metadata: { name: 'copy-of-broken', namespace: ns },
      spec: {
        size: '10Gi',
        storageClassName: `expandable-${suffix}`,
        accessModes: ['ReadWriteMany'],
        volumeMode: 'Block',
        source: { disk: { name: 'broken' } },
      },
    });
    await until('the DataVolume', () => get(dvPath('broken')));
    // What CDI writes when its importer cannot reach the source (the test plays CDI).
    const message =
      'Unable to connect to http data source: expected status code 200, got 404. Status: 404 Not Found';
    await merge(`${dvPath('broken')}/status`, {
      status: {
        phase: 'ImportInProgress',
        restartCount: 2,
        conditions: [{ type: 'Running', status: 'False', reason: 'Error', message }],
      },
    });
    const failed = await until('Failed', async () => {
      const d = await get(diskPath('broken'));
      return d?.status?.phase === 'Failed' ? d : undefined;
    });
    expect(failed.status?.restarts).toBe(2);
    expect(condition(failed, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ImportFailed',
      message: `CDI's DataVolume broken is ImportInProgress (Error): ${message}`,
    });
    // A clone waits for its source to be Ready, and makes no DataVolume meanwhile (its status
    // follows the source's once the controller saw the source fail).
    const waiting = await until('the clone to see its source Failed', async () => {
      const d = await get(diskPath('copy-of-broken'));
      return condition(d, 'Ready')?.message?.endsWith('(it is Failed)') ? d : undefined;
    });
    expect(condition(waiting, 'Ready')).toMatchObject({
      reason: 'SourceNotReady',
      message:
        'waiting for VirtualMachineDisk broken, which this disk clones, to be Ready (it is Failed)',
    });
    expect(await get(dvPath('copy-of-broken'))).toBeUndefined();
    await rest.create(
      vm('uses-broken', {
        powerState: 'PoweredOff',
        disks: [{ name: 'data', virtualMachineDiskName: 'broken' }],
      }),
    );
    const v = await until('DataVolumeError', async () => {
      const x = await get(vmPath('uses-broken'));
      return condition(x, 'DisksReady')?.reason === 'DataVolumeError' ? x : undefined;
    });
    expect(condition(v, 'DisksReady')?.message).toContain(
      `VirtualMachineDisk broken is Failed: CDI's DataVolume broken is ImportInProgress (Error): ${message}`,
    );
  });

  it('neither adopts nor deletes a claim that has its name, and says whose it is', async () => {
    // The DataVolume first: CDI's admission refuses a DataVolume named after a claim that exists.
    const dvClaim = (await rest.create({
      apiVersion: 'cdi.kubevirt.io/v1beta1',
      kind: 'DataVolume',
      metadata: { name: 'precious', namespace: ns },
      spec: BLANK_DATA_VOLUME_SPEC,
    })) as { metadata: { resourceVersion: string } };
    const claim = (await rest.create({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'precious', namespace: ns },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    })) as { metadata: { resourceVersion: string; uid: string } };
    await rest.create({
      apiVersion: API_VERSION,
      kind: 'VirtualMachineDisk',
      metadata: { name: 'precious', namespace: ns },
      spec: {
        size: '50Gi',
        storageClassName: 'ceph',
        accessModes: ['ReadWriteMany'],
        volumeMode: 'Block',
      },
    });
    const d = await until('NameInUse', async () => {
      const x = await get(diskPath('precious'));
      return condition(x, 'Ready')?.reason === 'NameInUse' ? x : undefined;
    });
    expect(d.status?.phase).toBe('Failed');
    expect(d.status?.claimName).toBeUndefined();
    expect(condition(d, 'Ready')?.message).toContain(`DataVolume ${ns}/precious`);
    await rest.request('DELETE', diskPath('precious'));
    await until('the disk gone', async () => !(await get(diskPath('precious'))));
    expect(
      (await get(`/api/v1/namespaces/${ns}/persistentvolumeclaims/precious`))?.metadata
        .resourceVersion,
    ).toBe(claim.metadata.resourceVersion);
    expect((await get(dvPath('precious')))?.metadata.resourceVersion).toBe(
      dvClaim.metadata.resourceVersion,
    );
  });

  it('reports storage deleted out of band after the disk was ready, and does not recreate it empty', async () => {
    await rest.create({
      apiVersion: API_VERSION,
      kind: 'VirtualMachineDisk',
      metadata: { name: 'fragile', namespace: ns },
      spec: {
        size: '1Gi',
        storageClassName: 'ceph',
        accessModes: ['ReadWriteMany'],
        volumeMode: 'Block',
      },
    });
    await until('the DataVolume', () => get(dvPath('fragile')));
    await merge(`${dvPath('fragile')}/status`, { status: { phase: 'Succeeded' } });
    await until('Ready', async () => (await get(diskPath('fragile')))?.status?.phase === 'Ready');
    await rest.request('DELETE', dvPath('fragile'));
    const d = await until('Lost', async () => {
      const x = await get(diskPath('fragile'));
      return x?.status?.phase === 'Lost' ? x : undefined;
    });
    expect(condition(d, 'Ready')).toMatchObject({ status: 'False', reason: 'ClaimLost' });
    expect(condition(d, 'Ready')?.message).toContain(
      `DataVolume ${ns}/fragile was deleted outside vmplane`,
    );
    await controllers.manager.idle();
    expect(await get(dvPath('fragile'))).toBeUndefined();
  });

  it('cannot be deleted from under the VM using it; detaching lets the deletion finish', async () => {
    await rest.create(
      vm('user', {
        image: undefined,
        bootDisk: undefined,
        disks: [{ name: 'root', virtualMachineDiskName: 'root', boot: true }],
      }),
    );
    await until(
      'attachedTo',
      async () => (await get(diskPath('root')))?.status?.attachedTo === 'user',
    );
    // Attached without the webhook (as before claims existed): the controller writes the claim.
    const claimed = await until('the claim', async () => {
      const d = (await get(diskPath('root'))) as
        { metadata: { annotations?: Record<string, string> } } | undefined;
      return d?.metadata.annotations?.['vmplane.io/attached-to'];
    });
    expect(JSON.parse(claimed)).toMatchObject({
      vm: 'user',
      uid: ((await get(vmPath('user'))) as unknown as { metadata: { uid: string } }).metadata.uid,
    });
    await rest.request('DELETE', diskPath('root'));
    const blocked = await until('InUse', async () => {
      const d = await get(diskPath('root'));
      return condition(d, 'Deleting')?.reason === 'InUse' ? d : undefined;
    });
    expect(condition(blocked, 'Deleting')?.message).toContain('attached to VM user');
    expect(await get(dvPath('root'))).toBeDefined();
    await rest.request('DELETE', vmPath('user'));
    await until('the disk gone', async () => !(await get(diskPath('root'))));
    expect(await get(dvPath('root'))).toBeUndefined();
  });
});
