// Objects the API server must refuse on the CRD schema and CEL rules alone (no webhook involved),
// each with a message that names the field. Creates are server-side dry runs; updates of
// immutable fields run against real objects.
import { beforeAll, describe, expect, it } from 'vitest';
import { ApiError, KubeRest, type KubeObjectLike } from '../../kube/src/rest.ts';
import { createNamespace, kubeConfig } from '../support/cluster.ts';
import { API_VERSION } from '../../api/src/wellknown.ts';
import { vm as buildVm } from '../support/builders.ts';

const V = API_VERSION;
let ns = '';
let rest: KubeRest;

beforeAll(async () => {
  ns = await createNamespace('invalid');
  rest = new KubeRest(kubeConfig());
  return () => rest.close();
});

function vm(spec: Record<string, unknown>): KubeObjectLike {
  return buildVm(
    'vm-x',
    { className: 'small', image: { name: 'ubuntu' }, ...spec },
    { namespace: ns },
  ) as unknown as KubeObjectLike;
}
const cls = (
  hardware: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): KubeObjectLike => ({
  apiVersion: V,
  kind: 'VirtualMachineClass',
  metadata: { name: 'class-x' },
  spec: { hardware: { cpus: 2, memory: '4Gi', ...hardware }, ...extra },
});
const image = (kind: string, source: Record<string, unknown>): KubeObjectLike => ({
  apiVersion: V,
  kind,
  metadata: kind === 'VirtualMachineImage' ? { name: 'img-x', namespace: ns } : { name: 'img-x' },
  spec: { source },
});
const disk = (spec: Record<string, unknown>): KubeObjectLike => ({
  apiVersion: V,
  kind: 'VirtualMachineDisk',
  metadata: { name: 'disk-x', namespace: ns },
  spec: { size: '10Gi', ...spec },
});
const policy = (spec: Record<string, unknown>): KubeObjectLike => ({
  apiVersion: V,
  kind: 'VirtualMachinePolicy',
  metadata: { name: 'policy-x' },
  spec,
});
const exception = (spec: Record<string, unknown>): KubeObjectLike => ({
  apiVersion: V,
  kind: 'VirtualMachinePolicyException',
  metadata: { name: 'exc-x', namespace: ns },
  spec: { policyName: 'p', reason: 'because the auditors agreed', ...spec },
});

async function refusal(
  obj: () => KubeObjectLike,
  action: (o: KubeObjectLike) => Promise<unknown>,
): Promise<string> {
  try {
    await action(obj());
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError);
    expect((e as ApiError).code).toBe(422);
    return (e as ApiError).message;
  }
  throw new Error('the API server accepted it');
}

// [what, object, field named in the error, words that say what is accepted]
const cases: [string, () => KubeObjectLike, string, string][] = [
  [
    'a class name with capitals',
    () => vm({ className: 'Small' }),
    'spec.className',
    'is not a valid object name',
  ],
  [
    'two boot sources',
    () => vm({ disks: [{ name: 'root', size: '10Gi', boot: true }] }),
    'spec',
    'exactly one boot source',
  ],
  ['no boot source', () => vm({ image: undefined }), 'spec', 'exactly one boot source'],
  [
    'an unknown power state',
    () => vm({ powerState: 'On' }),
    'spec.powerState',
    'supported values: "PoweredOn", "PoweredOff", "Suspended"',
  ],
  [
    'a disk that is both new and existing',
    () => vm({ disks: [{ name: 'd', size: '1Gi', virtualMachineDiskName: 'x' }] }),
    'spec.disks[0]',
    'set exactly one of virtualMachineDiskName, size',
  ],
  [
    'a disk size with no unit',
    () => vm({ disks: [{ name: 'd', size: '20' }] }),
    'spec.disks[0].size',
    'is not a size with a unit',
  ],
  [
    'two disks with one name',
    () =>
      vm({
        disks: [
          { name: 'd', size: '1Gi' },
          { name: 'd', size: '2Gi' },
        ],
      }),
    'spec.disks[1]',
    'Duplicate value',
  ],
  [
    'two boot disks',
    () =>
      vm({
        image: undefined,
        disks: [
          { name: 'a', size: '1Gi', boot: true },
          { name: 'b', size: '1Gi', boot: true },
        ],
      }),
    'spec.disks',
    'at most one disk may have boot: true',
  ],
  [
    'cloud-init inline and from a Secret',
    () => vm({ bootstrap: { cloudInit: { userData: '#cloud-config', secretRef: { name: 's' } } } }),
    'spec.bootstrap.cloudInit',
    'set exactly one of userData, secretRef',
  ],
  [
    'a malformed MAC address',
    () => vm({ network: { interfaces: [{ name: 'nic0', macAddress: '02:00:00:00:00' }] } }),
    'spec.network.interfaces[0].macAddress',
    'is not a MAC address',
  ],
  [
    'two pod-network interfaces',
    () => vm({ network: { interfaces: [{ name: 'a' }, { name: 'b' }] } }),
    'spec.network.interfaces',
    'at most one interface may use the pod network',
  ],
  [
    'a probe on port 0',
    () => vm({ readinessProbe: { tcpSocket: { port: 0 } } }),
    'spec.readinessProbe.tcpSocket.port',
    'greater than or equal to 1',
  ],
  [
    'a probe with two checks',
    () => vm({ readinessProbe: { tcpSocket: { port: 22 }, guestAgent: { enabled: true } } }),
    'spec.readinessProbe',
    'set exactly one of tcpSocket, httpGet, guestAgent',
  ],
  [
    'a boot disk with no image',
    () =>
      vm({
        image: undefined,
        bootDisk: { size: '10Gi' },
        disks: [{ name: 'r', size: '1Gi', boot: true }],
      }),
    'spec.bootDisk',
    'set spec.image or remove spec.bootDisk',
  ],
  [
    'storage settings on an existing disk',
    () => vm({ disks: [{ name: 'd', virtualMachineDiskName: 'x', storageClassName: 'fast' }] }),
    'spec.disks[0]',
    'apply only to a new disk',
  ],
  [
    'a reserved disk name',
    () => vm({ disks: [{ name: 'cloudinit', size: '1Gi' }] }),
    'spec.disks[0].name',
    'are reserved',
  ],
  ['negative CPUs', () => cls({ cpus: -2 }), 'spec.hardware.cpus', 'greater than or equal to 1'],
  [
    'memory with no unit',
    () => cls({ memory: '4096' }),
    'spec.hardware.memory',
    'is not a size with a unit',
  ],
  [
    'memory below 64Mi',
    () => cls({ memory: '32Mi' }),
    'spec.hardware.memory',
    'the minimum is 64Mi',
  ],
  [
    'an unknown reservation',
    () => cls({}, { reservation: 'Reserved' }),
    'spec.reservation',
    'supported values: "Guaranteed", "BestEffort"',
  ],
  [
    'a selector In with no values',
    () => cls({}, { namespaceSelector: { matchExpressions: [{ key: 'tier', operator: 'In' }] } }),
    'spec.namespaceSelector.matchExpressions[0]',
    'values must be non-empty for In and NotIn',
  ],
  [
    'an image with two sources',
    () =>
      image('ClusterVirtualMachineImage', {
        http: { url: 'https://x/y.img' },
        registry: { url: 'docker://q/x' },
      }),
    'spec.source',
    'set exactly one of http, registry, pvc',
  ],
  [
    'an image URL that is not http',
    () => image('VirtualMachineImage', { http: { url: 'ftp://x/y.img' } }),
    'spec.source.http.url',
    'is not an http or https URL',
  ],
  [
    'a registry URL without docker://',
    () => image('VirtualMachineImage', { registry: { url: 'quay.io/x' } }),
    'spec.source.registry.url',
    'must start with docker://',
  ],
  [
    'a cluster image cloning a claim of no namespace',
    () => image('ClusterVirtualMachineImage', { pvc: { name: 'golden' } }),
    'spec.source.pvc',
    'namespace is required for a ClusterVirtualMachineImage',
  ],
  [
    'a disk with two sources',
    () => disk({ source: { blank: {}, pvc: { name: 'x' } } }),
    'spec.source',
    'set at most one of blank, image, pvc',
  ],
  [
    'a disk with an unknown access mode',
    () => disk({ accessModes: ['RWX'] }),
    'spec.accessModes[0]',
    'supported values: "ReadWriteOnce"',
  ],
  ['a disk with no size', () => disk({ size: undefined }), 'spec.size', 'Required value'],
  [
    'a storage profile with an unknown clone strategy',
    () => ({
      apiVersion: V,
      kind: 'StorageProfile',
      metadata: { name: 'sp-x' },
      spec: { cloneStrategy: 'fast' },
    }),
    'spec.cloneStrategy',
    'supported values: "copy", "snapshot", "csi-clone"',
  ],
  [
    'a policy that denies and warns',
    () => policy({ validationActions: ['Deny', 'Warn'], rules: { maxCPUs: 8 } }),
    'spec.validationActions',
    'Deny and Warn cannot be used together',
  ],
  [
    'a policy that does nothing',
    () => policy({ validationActions: ['Deny'] }),
    'spec',
    'a policy needs rules, validations or defaults',
  ],
  [
    'a policy with no action',
    () => policy({ validationActions: [], rules: { maxCPUs: 8 } }),
    'spec.validationActions',
    'should have at least 1 items',
  ],
  [
    'a policy with a memory cap with no unit',
    () => policy({ validationActions: ['Deny'], rules: { maxMemory: '64' } }),
    'spec.rules.maxMemory',
    'is not a size with a unit',
  ],
  [
    'an exception with a one-word reason',
    () => exception({ vmNames: ['db'], reason: 'ok' }),
    'spec.reason',
    'at least 10 chars',
  ],
  [
    'an exception for no VM in particular',
    () => exception({}),
    'spec',
    'name the VMs (vmNames) or select them (vmSelector)',
  ],
];

describe('the API server refuses invalid objects, naming the field', () => {
  it('has at least 20 cases', () => expect(cases.length).toBeGreaterThanOrEqual(20));

  it.each(cases)('%s', async (_what, obj, field, accepted) => {
    const msg = await refusal(obj, (o) => rest.create(o, { dryRun: true }));
    expect(msg).toContain(`${field}: `);
    expect(msg).toContain(accepted);
  });
});

describe('immutable fields cannot change', () => {
  it('a disk keeps its storage class', async () => {
    const d = disk({ storageClassName: 'fast' });
    d.metadata.name = 'disk-sc';
    await rest.create(d);
    const msg = await refusal(
      () => ({ ...d, spec: { ...(d.spec as object), storageClassName: 'slow' } }),
      (o) => rest.apply(o),
    );
    expect(msg).toContain('spec.storageClassName: ');
    expect(msg).toContain('is immutable once set');
  });

  it('a disk cannot shrink, and can grow', async () => {
    const d = disk({ size: '10Gi' });
    d.metadata.name = 'disk-size';
    await rest.create(d);
    const msg = await refusal(
      () => ({ ...d, spec: { size: '9000Mi' } }),
      (o) => rest.apply(o),
    );
    expect(msg).toContain('spec.size: ');
    expect(msg).toContain('cannot shrink from 10Gi to 9000Mi');
    const grown = await rest.apply<{ spec: { size: string } }>({ ...d, spec: { size: '11Gi' } });
    expect(grown.spec.size).toBe('11Gi');
  });

  it('a VM keeps its image', async () => {
    const v = vm({});
    v.metadata.name = 'vm-image';
    await rest.create(v);
    const msg = await refusal(
      () => ({ ...v, spec: { ...(v.spec as object), image: { name: 'fedora' } } }),
      (o) => rest.apply(o),
    );
    expect(msg).toContain('spec.image: ');
    expect(msg).toContain('is immutable');
  });

  it('an image keeps its source', async () => {
    const i = image('VirtualMachineImage', { http: { url: 'https://example.com/a.img' } });
    i.metadata.name = 'img-src';
    await rest.create(i);
    const msg = await refusal(
      () => ({ ...i, spec: { source: { http: { url: 'https://example.com/b.img' } } } }),
      (o) => rest.apply(o),
    );
    expect(msg).toContain('spec.source: ');
    expect(msg).toContain('is immutable');
  });
});
