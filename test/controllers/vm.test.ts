// The VM and disk controllers against a real API server with KubeVirt's and CDI's CRDs installed.
// KubeVirt cannot run here, so the test plays the engine: it writes the status KubeVirt and CDI
// would write, and checks that vmplane's status follows. Nothing here claims a VM booted.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../../kube/src/client.ts';
import { KubeRest, isNotFound } from '../../kube/src/rest.ts';
import { startControllers, type RunningControllers } from '../../controllers/src/main.ts';
import { createNamespace, kubeConfig } from '../support/cluster.ts';
import { randomBytes } from 'node:crypto';
import { API_VERSION } from '../../api/src/wellknown.ts';
import { vm as buildVm, dataVolumesFromTemplates } from '../support/builders.ts';
import { bootDataVolumeName, diskDataVolumeName } from '../../controllers/src/vm/names.ts';
import { deployKubeVirt, installEngineCrds } from '../support/kubevirt.ts';

const V = API_VERSION;
const s = randomBytes(3).toString('hex');
let ns = '';
let rest: KubeRest;
let ctl: RunningControllers;

type Obj = {
  metadata: { name: string; resourceVersion?: string; finalizers?: string[] };
  spec: Record<string, any>;
  status?: Record<string, any>;
};

const vmPath = (name: string): string => `/apis/${V}/namespaces/${ns}/virtualmachines/${name}`;
const kvPath = (name: string): string =>
  `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines/${name}`;
const get = async (path: string): Promise<Obj | undefined> => {
  try {
    return (await rest.request<Obj>('GET', path)).body;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
};
const until = <T>(what: string, probe: () => Promise<T | undefined | false>): Promise<T> =>
  waitUntil(what, probe as () => Promise<T | undefined>, 30_000, 100);
const merge = (path: string, body: unknown): Promise<unknown> =>
  rest.request('PATCH', path, { body, contentType: 'application/merge-patch+json' });
const condition = (
  o: Obj | undefined,
  type: string,
): { status: string; reason: string; message: string } | undefined =>
  o?.status?.conditions?.find((c: { type: string }) => c.type === type);

beforeAll(async () => {
  rest = new KubeRest(kubeConfig());
  await installEngineCrds(kubeConfig());
  await deployKubeVirt(kubeConfig());
  ns = await createNamespace('ctl');
  await rest.create({
    apiVersion: V,
    kind: 'VirtualMachineClass',
    metadata: { name: `small-${s}` },
    spec: { hardware: { cpus: 2, memory: '4Gi' }, reservation: 'BestEffort' },
  });
  await rest.create({
    apiVersion: V,
    kind: 'VirtualMachineClass',
    metadata: { name: `medium-${s}` },
    spec: { hardware: { cpus: 4, memory: '8Gi' }, reservation: 'Guaranteed' },
  });
  await rest.create({
    apiVersion: V,
    kind: 'ClusterVirtualMachineImage',
    metadata: { name: `ubuntu-${s}` },
    spec: { source: { http: { url: 'https://example.com/u.img' } }, size: '10Gi' },
  });
  ctl = await startControllers({
    kc: kubeConfig(),
    scope: { namespaces: [ns] },
    logger: pino(
      { level: process.env.CTL_LOG ? 'debug' : 'silent' },
      process.env.CTL_LOG ? pino.destination(process.env.CTL_LOG) : undefined,
    ),
  });
}, 60_000);

afterAll(async () => {
  await ctl.stop();
  rest.close();
});

function vm(name: string, spec: Record<string, unknown> = {}): Parameters<KubeRest['create']>[0] {
  return buildVm(
    name,
    {
      className: `small-${s}`,
      image: { kind: 'ClusterVirtualMachineImage', name: `ubuntu-${s}` },
      bootDisk: {
        size: '20Gi',
        storageClassName: 'ceph',
        accessModes: ['ReadWriteMany'],
        volumeMode: 'Block',
      },
      powerState: 'PoweredOn',
      ...spec,
    },
    { namespace: ns },
  ) as unknown as Parameters<KubeRest['create']>[0];
}

describe('VirtualMachine controller', () => {
  it('hands the VM to KubeVirt with the translated spec, owned by the vmplane VM', async () => {
    await rest.create(vm('web'));
    const kv = await until('the KubeVirt VM', () => get(kvPath('web')));
    expect(kv.spec.runStrategy).toBe('Always');
    expect(kv.spec.template.spec.domain.cpu).toEqual({ cores: 2, sockets: 1, threads: 1 });
    expect(kv.spec.template.spec.domain.resources).toEqual({
      requests: { cpu: '200m', memory: '4Gi' },
    });
    expect(kv.spec.dataVolumeTemplates[0]).toMatchObject({
      metadata: { name: bootDataVolumeName('web') },
      spec: {
        source: { http: { url: 'https://example.com/u.img' } },
        storage: { storageClassName: 'ceph', resources: { requests: { storage: '20Gi' } } },
      },
    });
    const ours = await get(vmPath('web'));
    expect(
      (kv as { metadata: { ownerReferences?: { uid: string }[] } }).metadata.ownerReferences?.[0]
        ?.uid,
    ).toBe((ours as { metadata: { uid?: string } }).metadata.uid);
    expect(ours?.metadata.finalizers).toContain('vmplane.io/vm-cleanup');
    const st = await until('status', async () => {
      const v = await get(vmPath('web'));
      return condition(v, 'EngineAvailable') ? v : undefined;
    });
    expect(condition(st, 'ClassResolved')).toMatchObject({ status: 'True' });
    expect(condition(st, 'EngineAvailable')).toMatchObject({
      status: 'True',
      reason: 'KubeVirtDeployed',
    });
    expect(condition(st, 'DisksReady')).toMatchObject({
      status: 'False',
      reason: 'DisksNotReady',
      message: `DataVolume ${bootDataVolumeName('web')} is not created yet`,
    });
    expect(st.status?.printableStatus).toBe('Pending');
  });

  it('follows power transitions: PoweredOn -> PoweredOff -> PoweredOn, with status from the engine', async () => {
    await merge(vmPath('web'), { spec: { powerState: 'PoweredOff' } });
    await until(
      'runStrategy Halted',
      async () => (await get(kvPath('web')))?.spec.runStrategy === 'Halted',
    );
    await merge(`${kvPath('web')}/status`, {
      status: { printableStatus: 'Stopped', ready: false },
    });
    const stopped = await until('vmplane status Stopped', async () => {
      const v = await get(vmPath('web'));
      return v?.status?.printableStatus === 'Stopped' ? v : undefined;
    });
    expect(stopped.status).toMatchObject({ phase: 'Stopped', powerState: 'PoweredOff' });
    expect(condition(stopped, 'Ready')).toMatchObject({
      status: 'False',
      message: 'the VM is powered off',
    });

    await merge(vmPath('web'), { spec: { powerState: 'PoweredOn' } });
    await until(
      'runStrategy Always',
      async () => (await get(kvPath('web')))?.spec.runStrategy === 'Always',
    );
    // The engine starts it: virt-controller makes a VMI from the VM's template, virt-handler
    // writes its status through the main resource (the real VMI CRD has no status subresource).
    const template = (await get(kvPath('web')))?.spec.template;
    await rest.create({
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
      metadata: { name: 'web', namespace: ns, labels: template.metadata.labels },
      spec: template.spec,
    });
    await merge(`/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances/web`, {
      status: {
        phase: 'Running',
        nodeName: 'node-a',
        interfaces: [
          {
            name: 'default',
            ipAddress: '10.0.0.7',
            ipAddresses: ['10.0.0.7', 'fd00::7'],
            mac: '02:00:00:00:00:07',
          },
        ],
        guestOSInfo: { name: 'Ubuntu', version: '24.04', kernelRelease: '6.8.0' },
      },
    });
    const statusPath = `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances/web/status`;
    await expect(get(statusPath)).resolves.toBeUndefined();
    await merge(`${kvPath('web')}/status`, { status: { printableStatus: 'Running', ready: true } });
    const running = await until('vmplane status Running', async () => {
      const v = await get(vmPath('web'));
      return v?.status?.printableStatus === 'Running' && v.status.primaryIP ? v : undefined;
    });
    expect(running.status).toMatchObject({
      phase: 'Running',
      powerState: 'PoweredOn',
      nodeName: 'node-a',
      primaryIP: '10.0.0.7',
      ipAddresses: ['10.0.0.7', 'fd00::7'],
      guestOS: { name: 'Ubuntu', version: '24.04', kernel: '6.8.0' },
      class: { name: `small-${s}`, cpus: 2, memory: '4Gi', reservation: 'BestEffort' },
    });
    expect(condition(running, 'Ready')).toMatchObject({ status: 'True' });
  });

  it('does not resize a running VM when its class changes: the change waits for the next power cycle', async () => {
    await merge(vmPath('web'), { spec: { className: `medium-${s}` } });
    const pending = await until('RestartPending', async () => {
      const v = await get(vmPath('web'));
      return condition(v, 'RestartPending')?.status === 'True' ? v : undefined;
    });
    expect(condition(pending, 'RestartPending')?.message).toContain(`class medium-${s}`);
    expect(pending.status?.class).toMatchObject({ name: `small-${s}`, cpus: 2 });
    expect((await get(kvPath('web')))?.spec.template.spec.domain.cpu.cores).toBe(2);

    // Power cycle: the engine stops the VM (the VMI goes); the new class applies.
    await rest.request(
      'DELETE',
      `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances/web`,
    );
    await merge(`${kvPath('web')}/status`, {
      status: { printableStatus: 'Stopped', ready: false },
    });
    await until(
      '4 vCPUs in the engine',
      async () => (await get(kvPath('web')))?.spec.template.spec.domain.cpu.cores === 4,
    );
    const applied = await until('the new class recorded', async () => {
      const v = await get(vmPath('web'));
      return v?.status?.class?.name === `medium-${s}` ? v : undefined;
    });
    expect(applied.status?.class).toMatchObject({
      cpus: 4,
      memory: '8Gi',
      reservation: 'Guaranteed',
    });
    expect(condition(applied, 'RestartPending')?.status).toBe('False');
    expect((await get(kvPath('web')))?.spec.template.spec.domain.resources).toEqual({
      requests: { cpu: '4', memory: '8Gi' },
      limits: { cpu: '4', memory: '8Gi' },
    });
  });

  it('says when the class or image is missing, without crashing', async () => {
    await rest.create(vm('orphan', { className: 'no-such-class' }));
    const v = await until('ClassResolved False', async () => {
      const x = await get(vmPath('orphan'));
      return condition(x, 'ClassResolved') ? x : undefined;
    });
    expect(condition(v, 'ClassResolved')).toMatchObject({
      status: 'False',
      reason: 'ClassNotFound',
    });
    expect(await get(kvPath('orphan'))).toBeUndefined();
  });

  it('deleting a VM removes what it created and keeps the disks users made', async () => {
    await rest.create({
      apiVersion: V,
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
        spec: {},
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
    expect(await get(`/apis/${V}/namespaces/${ns}/virtualmachinedisks/keep`)).toBeDefined();
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

  it("reports a failed pause when KubeVirt's subresource API is not served, instead of pretending", async () => {
    await merge(vmPath('web'), { spec: { powerState: 'Suspended' } });
    const template = (await get(kvPath('web')))?.spec.template;
    await rest.create({
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
      metadata: { name: 'web', namespace: ns, labels: template.metadata.labels },
      spec: template.spec,
    });
    await merge(`${kvPath('web')}/status`, { status: { printableStatus: 'Running', ready: true } });
    const v = await until('PowerAction condition while the engine reports Running', async () => {
      const x = await get(vmPath('web'));
      return condition(x, 'PowerAction') && x?.status?.printableStatus === 'Running'
        ? x
        : undefined;
    });
    expect(condition(v, 'PowerAction')).toMatchObject({
      status: 'False',
      reason: 'PowerActionFailed',
    });
    expect(condition(v, 'PowerAction')?.message).toContain('could not pause the VM');
    expect(v.status?.powerState).toBe('PoweredOn'); // it is not suspended, and status says so
  });

  it("makes a refusal of the KubeVirt VM visible on the VM: EngineAccepted=False with the API server's words, and a Warning Event", async () => {
    // Stands in for KubeVirt's own webhook refusing a VM: an admission policy on kubevirt.io VMs.
    const policy = `refuse-kv-${s}`;
    await rest.create({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name: policy },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [
            {
              apiGroups: ['kubevirt.io'],
              apiVersions: ['v1'],
              operations: ['CREATE', 'UPDATE'],
              resources: ['virtualmachines'],
            },
          ],
        },
        validations: [
          {
            expression: "!object.metadata.name.startsWith('refused-')",
            message: 'this cluster refuses VMs named refused-*',
          },
        ],
      },
    });
    await rest.create({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name: policy },
      spec: {
        policyName: policy,
        validationActions: ['Deny'],
        matchResources: {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
        },
      },
    });
    try {
      await until('the admission policy in force', async () => {
        try {
          await rest.create(
            {
              apiVersion: 'kubevirt.io/v1',
              kind: 'VirtualMachine',
              metadata: { name: 'refused-probe', namespace: ns },
              spec: { template: { spec: { domain: { devices: {} } } } },
            } as never,
            { dryRun: true },
          );
          return false;
        } catch {
          return true;
        }
      });
      await rest.create(vm('refused-1'));
      const v = await until('EngineAccepted=False', async () => {
        const x = await get(vmPath('refused-1'));
        return condition(x, 'EngineAccepted')?.status === 'False' ? x : undefined;
      });
      expect(condition(v, 'EngineAccepted')).toMatchObject({ reason: 'EngineRefused' });
      expect(condition(v, 'EngineAccepted')?.message).toContain(
        'the API server refused the KubeVirt VirtualMachine vmplane made for this VM (HTTP 422)',
      );
      expect(condition(v, 'EngineAccepted')?.message).toContain(
        'this cluster refuses VMs named refused-*',
      );
      expect(v.status).toMatchObject({ printableStatus: 'EngineRefused', phase: 'Failed' });
      expect(condition(v, 'Ready')).toMatchObject({ status: 'False', reason: 'EngineRefused' });
      const events = await until('the Warning Event', async () => {
        const list = (
          await rest.request<{ items: { reason: string; type: string; message: string }[] }>(
            'GET',
            `/api/v1/namespaces/${ns}/events?fieldSelector=involvedObject.name=refused-1`,
          )
        ).body.items;
        return list.find((e) => e.reason === 'EngineRefused');
      });
      expect(events.type).toBe('Warning');
      expect(events.message).toContain('this cluster refuses VMs named refused-*');
    } finally {
      await rest.request(
        'DELETE',
        `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/${policy}`,
      );
      await rest.request(
        'DELETE',
        `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/${policy}`,
      );
    }
  });

  it('does not hand over a VM whose class has devices KubeVirt does not permit, and says which', async () => {
    await rest.create({
      apiVersion: V,
      kind: 'VirtualMachineClass',
      metadata: { name: `gpu-${s}` },
      spec: {
        hardware: {
          cpus: 4,
          memory: '8Gi',
          devices: { gpus: [{ name: 'gpu', deviceName: 'nvidia.com/GA102GL_A10' }] },
        },
      },
    });
    await rest.create(vm('trainer', { className: `gpu-${s}` }));
    const v = await until('ClassResolved=False', async () => {
      const x = await get(vmPath('trainer'));
      return condition(x, 'ClassResolved')?.status === 'False' ? x : undefined;
    });
    expect(condition(v, 'ClassResolved')).toMatchObject({ reason: 'DevicesNotPermitted' });
    expect(condition(v, 'ClassResolved')?.message).toContain(
      'nvidia.com/GA102GL_A10 is not in spec.configuration.permittedHostDevices of KubeVirt kubevirt/kubevirt',
    );
    expect(await get(kvPath('trainer'))).toBeUndefined();
  });
});

describe('VirtualMachineDisk controller', () => {
  const diskPath = (name: string): string =>
    `/apis/${V}/namespaces/${ns}/virtualmachinedisks/${name}`;
  const dvPath = (name: string): string =>
    `/apis/cdi.kubevirt.io/v1beta1/namespaces/${ns}/datavolumes/${name}`;

  it('makes a DataVolume with the storage settled at admission, and follows the import', async () => {
    await rest.create({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: `expandable-${s}` },
      provisioner: 'rbd.csi.ceph.com',
      allowVolumeExpansion: true,
    });
    await rest.create({
      apiVersion: V,
      kind: 'VirtualMachineDisk',
      metadata: { name: 'root', namespace: ns },
      spec: {
        size: '10Gi',
        storageClassName: `expandable-${s}`,
        accessModes: ['ReadWriteMany'],
        volumeMode: 'Block',
        source: { image: { kind: 'ClusterVirtualMachineImage', name: `ubuntu-${s}` } },
      },
    });
    const dv = await until('the DataVolume', () => get(dvPath('root')));
    expect(dv.spec).toEqual({
      source: { http: { url: 'https://example.com/u.img' } },
      storage: {
        storageClassName: `expandable-${s}`,
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
        storageClassName: `expandable-${s}`,
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
  });

  it('neither adopts nor deletes a claim that has its name, and says whose it is', async () => {
    const claim = (await rest.create({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'precious', namespace: ns },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    })) as { metadata: { resourceVersion: string; uid: string } };
    const dvClaim = (await rest.create({
      apiVersion: 'cdi.kubevirt.io/v1beta1',
      kind: 'DataVolume',
      metadata: { name: 'precious', namespace: ns },
      spec: {},
    })) as { metadata: { resourceVersion: string } };
    await rest.create({
      apiVersion: V,
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
      apiVersion: V,
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
    await ctl.manager.idle();
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
