// Golden tests of the VM translation. Run with UPDATE_GOLDEN=1 to rewrite the files after an
// intended change, then review the diff; a missing golden file fails the test.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type {
  ClusterVirtualMachineImage,
  VirtualMachine,
  VirtualMachineClass,
  VirtualMachineDisk,
} from '../../../api/generated/types.ts';
import { effectiveClassOf, formatBytes, translate, type TranslationInput } from './translate.ts';
import { API_VERSION } from '../../../api/src/wellknown.ts';
import { vm as buildVm } from '../../../test/support/builders.ts';

const V = API_VERSION;
const DATA = join(import.meta.dirname, 'testdata');

const klass = (
  name: string,
  cpus: number,
  memory: string,
  reservation: 'Guaranteed' | 'BestEffort',
  devices?: VirtualMachineClass['spec']['hardware']['devices'],
): VirtualMachineClass => ({
  apiVersion: V,
  kind: 'VirtualMachineClass',
  metadata: { name, generation: 3 },
  spec: { hardware: { cpus, memory, ...(devices ? { devices } : {}) }, reservation },
});
const bestEffort = klass('best-effort-small', 2, '4Gi', 'BestEffort');
const guaranteed = klass('guaranteed-medium', 4, '16Gi', 'Guaranteed');
const gpuClass = klass('gpu-large', 16, '64Gi', 'Guaranteed', {
  gpus: [{ name: 'gpu', deviceName: 'nvidia.com/GA102GL_A10', count: 2 }],
  hostDevices: [{ name: 'qat', deviceName: 'intel.com/qat' }],
});
const httpImage: ClusterVirtualMachineImage = {
  apiVersion: V,
  kind: 'ClusterVirtualMachineImage',
  metadata: { name: 'ubuntu-24.04' },
  spec: { source: { http: { url: 'https://cloud-images.example/noble.img' } }, size: '10Gi' },
};
const registryImage: ClusterVirtualMachineImage = {
  apiVersion: V,
  kind: 'ClusterVirtualMachineImage',
  metadata: { name: 'fedora-40' },
  spec: { source: { registry: { url: 'docker://quay.io/containerdisks/fedora:40' } }, size: '6Gi' },
};
const bootDisk = {
  size: '20Gi',
  storageClassName: 'local-path',
  accessModes: ['ReadWriteOnce' as const],
  volumeMode: 'Filesystem' as const,
};

function vm(name: string, spec: Partial<VirtualMachine['spec']>): VirtualMachine {
  return buildVm(
    name,
    { className: 'x', powerState: 'PoweredOn', ...spec },
    { namespace: 'demo', uid: `uid-${name}` },
  );
}
const disk = (name: string, claimName: string): VirtualMachineDisk => ({
  apiVersion: V,
  kind: 'VirtualMachineDisk',
  metadata: { name, namespace: 'demo' },
  spec: { size: '30Gi' },
  status: { claimName },
});

const cases: [string, TranslationInput][] = [
  [
    'best-effort-http-image-cloudinit',
    {
      vm: vm('web-1', {
        image: { kind: 'ClusterVirtualMachineImage', name: 'ubuntu-24.04' },
        bootDisk,
        disks: [
          {
            name: 'scratch',
            size: '10Gi',
            storageClassName: 'local-path',
            accessModes: ['ReadWriteOnce'],
            volumeMode: 'Filesystem',
          },
        ],
        bootstrap: { cloudInit: { userData: '#cloud-config\npackages: [nginx]\n' } },
      }),
      vmClass: effectiveClassOf(bestEffort),
      image: httpImage,
      disks: {},
    },
  ],
  [
    'guaranteed-registry-image',
    {
      vm: vm('db-2', {
        image: { kind: 'ClusterVirtualMachineImage', name: 'fedora-40' },
        bootDisk: {
          ...bootDisk,
          storageClassName: 'ceph-rbd',
          accessModes: ['ReadWriteMany'],
          volumeMode: 'Block',
        },
      }),
      vmClass: effectiveClassOf(guaranteed),
      image: registryImage,
      disks: {},
    },
  ],
  [
    'boot-from-disk',
    {
      vm: vm('db-1', {
        disks: [
          { name: 'root', virtualMachineDiskName: 'legacy-root', boot: true },
          { name: 'data', virtualMachineDiskName: 'pg-data' },
        ],
      }),
      vmClass: effectiveClassOf(guaranteed),
      disks: {
        'legacy-root': disk('legacy-root', 'legacy-root'),
        'pg-data': disk('pg-data', 'pg-data-claim'),
      },
    },
  ],
  [
    'cloudinit-from-secret',
    {
      vm: vm('ops', {
        image: { kind: 'ClusterVirtualMachineImage', name: 'ubuntu-24.04' },
        bootDisk,
        bootstrap: {
          cloudInit: {
            secretRef: { name: 'ops-cloud-init', key: 'userdata' },
            networkData: 'version: 2\n',
          },
        },
      }),
      vmClass: effectiveClassOf(bestEffort),
      image: httpImage,
      disks: {},
    },
  ],
  [
    'pod-and-two-static-l2-networks',
    {
      vm: vm('multi', {
        image: { kind: 'ClusterVirtualMachineImage', name: 'ubuntu-24.04' },
        bootDisk,
        bootstrap: { cloudInit: { userData: '#cloud-config\n' } },
        network: {
          interfaces: [
            { name: 'default', network: 'pod-kind', macAddress: '02:76:6d:00:00:01' },
            {
              name: 'blue',
              network: 'blue',
              macAddress: '02:76:6d:00:00:02',
              ipAddress: '192.168.100.7',
            },
            {
              name: 'green',
              network: 'green',
              macAddress: '02:76:6d:00:00:03',
              ipAddress: '10.20.3.4',
            },
          ] as never,
        },
      }),
      vmClass: effectiveClassOf(bestEffort),
      image: httpImage,
      disks: {},
      networks: {
        blue: {
          metadata: { name: 'blue' },
          spec: {
            l2: { bridge: 'br-blue', vlanID: 100 },
            ipam: {
              staticPool: {
                cidr: '192.168.100.0/24',
                gateway: '192.168.100.1',
                nameservers: ['192.168.100.53'],
              },
            },
          },
        },
        green: {
          metadata: { name: 'green' },
          spec: {
            type: 'L2',
            ipam: { staticPool: { cidr: '10.20.0.0/16', gateway: '10.20.0.1' } },
          },
        },
        'pod-kind': { metadata: { name: 'pod-kind' }, spec: { type: 'Pod' } },
      },
    },
  ],
  [
    'zone',
    {
      vm: vm('zonal', {
        image: { kind: 'ClusterVirtualMachineImage', name: 'ubuntu-24.04' },
        bootDisk,
        zone: 'zone-a',
      }),
      vmClass: effectiveClassOf(bestEffort),
      image: httpImage,
      disks: {},
    },
  ],
  [
    'eviction-class',
    {
      // The class's strategy reaches the instance template.
      vm: vm('movable', {
        image: { kind: 'ClusterVirtualMachineImage', name: 'ubuntu-24.04' },
        bootDisk,
      }),
      vmClass: effectiveClassOf({
        ...bestEffort,
        spec: { ...bestEffort.spec, evictionStrategy: 'LiveMigrate' },
      }),
      image: httpImage,
      disks: {},
    },
  ],
  [
    'eviction-vm',
    {
      // The VM's own strategy wins over its class's.
      vm: vm('pinned', {
        image: { kind: 'ClusterVirtualMachineImage', name: 'ubuntu-24.04' },
        bootDisk,
        evictionStrategy: 'None',
      }),
      vmClass: effectiveClassOf({
        ...bestEffort,
        spec: { ...bestEffort.spec, evictionStrategy: 'LiveMigrate' },
      }),
      image: httpImage,
      disks: {},
    },
  ],
  [
    'gpu-class',
    {
      vm: vm('trainer', {
        image: { kind: 'ClusterVirtualMachineImage', name: 'ubuntu-24.04' },
        bootDisk,
      }),
      vmClass: effectiveClassOf(gpuClass),
      image: httpImage,
      disks: {},
    },
  ],
  [
    'powered-off',
    {
      vm: vm('idle', {
        image: { kind: 'ClusterVirtualMachineImage', name: 'ubuntu-24.04' },
        bootDisk,
        powerState: 'PoweredOff',
      }),
      vmClass: effectiveClassOf(bestEffort),
      image: httpImage,
      disks: {},
    },
  ],
  [
    'suspended',
    {
      vm: vm('sleepy', {
        image: { kind: 'ClusterVirtualMachineImage', name: 'ubuntu-24.04' },
        bootDisk,
        powerState: 'Suspended',
      }),
      vmClass: effectiveClassOf(bestEffort),
      image: httpImage,
      disks: {},
    },
  ],
  [
    'l2-network-probe-hard-poweroff',
    {
      vm: vm('router', {
        image: { kind: 'ClusterVirtualMachineImage', name: 'ubuntu-24.04' },
        bootDisk,
        powerOffMode: 'Hard',
        network: {
          interfaces: [
            { name: 'nic0' },
            { name: 'nic1', network: 'vlan-42', macAddress: '02:00:00:00:00:42' },
          ],
        },
        readinessProbe: { httpGet: { port: 8080, path: '/healthz' }, initialDelaySeconds: 30 },
      }),
      vmClass: effectiveClassOf(bestEffort),
      image: httpImage,
      disks: {},
    },
  ],
];

describe('VM translation (golden files)', () => {
  it('covers at least 8 shapes', () => expect(cases.length).toBeGreaterThanOrEqual(8));

  it.each(cases)('%s', (name, input) => {
    const got = stringify(translate(input), { lineWidth: 0 });
    const file = join(DATA, `${name}.yaml`);
    if (process.env.UPDATE_GOLDEN) writeFileSync(file, got);
    expect(existsSync(file), `${file} missing: run with UPDATE_GOLDEN=1 and review it`).toBe(true);
    expect(parse(got)).toEqual(parse(readFileSync(file, 'utf8')));
  });
});

describe('translation rules', () => {
  const base = cases[0]![1];
  const spec = (i: TranslationInput): Record<string, unknown> =>
    translate(i).spec.template.spec as unknown as Record<string, unknown>;

  it('carries the VM’s labels to its instances (where NetworkPolicy finds them), not KubeVirt’s own keys', () => {
    const labels = translate({
      ...base,
      vm: {
        ...base.vm,
        metadata: {
          ...base.vm.metadata,
          labels: {
            app: 'web',
            tier: 'db',
            'kubevirt.io/domain': 'other',
            'vm.kubevirt.io/x': 'y',
          },
        },
      },
    }).spec.template.metadata?.labels;
    expect(labels).toMatchObject({
      app: 'web',
      tier: 'db',
      'kubevirt.io/domain': base.vm.metadata.name,
    });
    expect(labels).not.toHaveProperty('vm.kubevirt.io/x');
  });

  it('maps power states to run strategies', () => {
    expect(
      translate({ ...base, vm: { ...base.vm, spec: { ...base.vm.spec, powerState: 'PoweredOn' } } })
        .spec.runStrategy,
    ).toBe('Always');
    expect(
      translate({
        ...base,
        vm: { ...base.vm, spec: { ...base.vm.spec, powerState: 'PoweredOff' } },
      }).spec.runStrategy,
    ).toBe('Halted');
    expect(
      translate({ ...base, vm: { ...base.vm, spec: { ...base.vm.spec, powerState: 'Suspended' } } })
        .spec.runStrategy,
    ).toBe('Always');
  });

  it('reserves everything for Guaranteed, and a fraction of CPU for BestEffort', () => {
    expect(
      (spec({ ...base, vmClass: effectiveClassOf(guaranteed) }).domain as { resources: unknown })
        .resources,
    ).toEqual({ requests: { cpu: '4', memory: '16Gi' }, limits: { cpu: '4', memory: '16Gi' } });
    expect((spec(base).domain as { resources: unknown }).resources).toEqual({
      requests: { cpu: '200m', memory: '4Gi' },
    });
    expect(
      (
        spec({ ...base, options: { cpuOvercommit: 4, memoryOvercommit: 2 } }).domain as {
          resources: unknown;
        }
      ).resources,
    ).toEqual({ requests: { cpu: '500m', memory: '2Gi' } });
  });

  it('formats bytes in the largest exact binary unit', () => {
    expect(formatBytes(16n << 30n)).toBe('16Gi');
    expect(formatBytes(1536n << 20n)).toBe('1536Mi');
    expect(formatBytes(1000n)).toBe('1000');
  });
});
