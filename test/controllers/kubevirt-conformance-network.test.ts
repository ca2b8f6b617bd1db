// Multi-interface VMs as vmplane hands them to KubeVirt pass KubeVirt's own validation (virt-api's
// admitter, built from its Go module) and the API server's (the real VM CRD, KubeVirt's webhook),
// with zero causes: the pod network plus L2 Networks (bridge binding over the
// NetworkAttachmentDefinition vmplane writes) and NetworkAttachmentDefinitions named directly,
// fixed MAC addresses, static-pool addresses and the generated cloud-init network data (up to the
// 16 interfaces the API allows, where it must shrink to fit KubeVirt's 2,048-byte inline limit),
// with and without the user's own cloud-init.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { VirtualMachine } from '../../api/generated/types.ts';
import { KubeRest } from '../../kube/src/rest.ts';
import type { EngineChecks } from '../../harness/src/controlplane/conformance.ts';
import type { NetworkLike } from '../../controllers/src/network/types.ts';
import { translate } from '../../controllers/src/vm/translate.ts';
import { vm as buildVm } from '../support/builders.ts';
import { createNamespace, kubeConfig } from '../support/cluster.ts';
import {
  deployKubeVirt,
  engineCauses,
  engineChecks,
  installEngineCrds,
} from '../support/kubevirt.ts';

let rest: KubeRest;
let checks: EngineChecks;
let ns = '';

/** Four L2 Networks: two static pools (one on a VLAN), external DHCP, and a pool without gateway;
 * `cluster` is the pod network as a Network of type Pod. `corp` and `backup` are no Network: NetworkAttachmentDefinitions of the VM's namespace. */
const NETWORKS: Record<string, NetworkLike> = {
  blue: {
    metadata: { name: 'blue' },
    spec: {
      type: 'L2',
      l2: { bridge: 'br-blue', vlanID: 100 },
      ipam: {
        staticPool: {
          cidr: '192.168.100.0/24',
          gateway: '192.168.100.1',
          nameservers: ['192.168.100.53', '192.168.100.54', '192.168.100.55'],
          search: ['blue.example', 'lab.blue.example'],
        },
      },
    },
  },
  green: {
    metadata: { name: 'green' },
    spec: { type: 'L2', ipam: { staticPool: { cidr: '10.20.0.0/16', gateway: '10.20.0.1' } } },
  },
  lab: { metadata: { name: 'lab' }, spec: { type: 'L2', ipam: { externalDHCP: {} } } },
  cluster: { metadata: { name: 'cluster' }, spec: { type: 'Pod' } },
  storage: {
    metadata: { name: 'storage' },
    spec: { type: 'L2', ipam: { staticPool: { cidr: '172.30.0.0/24' } } },
  },
};
const POOLS: Record<string, string> = {
  blue: '192.168.100.',
  green: '10.20.1.',
  storage: '172.30.0.',
};

const L2_NAMES = ['blue', 'green', 'lab', 'storage', 'corp', 'backup'] as const;

interface Shape {
  /** Where the pod-network interface is; `network`: first, through the Network of type Pod. */
  pod: 'first' | 'last' | 'none' | 'network';
  /** The L2 interfaces' networks, in order (a network may come back). */
  networks: string[];
  /** Interface names longer than Linux takes (the guest gets eth<index>). */
  longNames: boolean;
  cloudInit: 'none' | 'userData' | 'secretRef';
}

function vmOf(shape: Shape, n: number): VirtualMachine {
  const mac = (k: number): string =>
    `02:76:6d:${(n >> 8).toString(16).padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}:${k.toString(16).padStart(2, '0')}`;
  const l2 = shape.networks.map((net, k) => ({
    name: shape.longNames ? `interface-on-network-${net}-number-${k}` : `nic${k}-${net}`,
    network: net,
    macAddress: mac(k + 1),
    ...(POOLS[net] ? { ipAddress: `${POOLS[net]}${10 + k}` } : {}),
  }));
  const pod = {
    name: 'default',
    macAddress: mac(0),
    ...(shape.pod === 'network' ? { network: 'cluster' } : {}),
  };
  const interfaces =
    shape.pod === 'first' || shape.pod === 'network'
      ? [pod, ...l2]
      : shape.pod === 'last'
        ? [...l2, pod]
        : l2;
  const cloudInit =
    shape.cloudInit === 'userData'
      ? { userData: '#cloud-config\nhostname: multi\n' }
      : shape.cloudInit === 'secretRef'
        ? { secretRef: { name: 'multi-cloud-init', key: 'userdata' as const } }
        : undefined;
  return buildVm(
    `multi-${n}`,
    {
      className: 'small',
      powerState: 'PoweredOn',
      disks: [{ name: 'root', virtualMachineDiskName: 'root', boot: true }],
      network: { interfaces: interfaces as never },
      ...(cloudInit ? { bootstrap: { cloudInit } } : {}),
    },
    { namespace: ns, uid: `uid-${n}` },
  );
}

const translated = (vm: VirtualMachine) =>
  translate({
    vm,
    vmClass: { name: 'small', cpus: 2, memory: '4Gi', reservation: 'BestEffort', generation: 1 },
    disks: {
      root: {
        apiVersion: 'vmplane.io/v1alpha1',
        kind: 'VirtualMachineDisk',
        metadata: { name: 'root' },
        spec: { size: '10Gi' },
        status: { claimName: 'root' },
      },
    },
    networks: NETWORKS,
  });

beforeAll(async () => {
  rest = new KubeRest(kubeConfig());
  await installEngineCrds(kubeConfig());
  await deployKubeVirt(kubeConfig());
  checks = await engineChecks();
  ns = await createNamespace('conf-net');
}, 300_000);

afterAll(async () => {
  await checks?.close();
  await rest?.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
  rest?.close();
});

describe('multi-interface VMs and KubeVirt', () => {
  it('pod + static, external-DHCP and NetworkAttachmentDefinition interfaces: bridge over multus, MACs, generated network data; zero causes', async () => {
    const shape: Shape = {
      pod: 'first',
      networks: ['blue', 'green', 'lab', 'corp'],
      longNames: false,
      cloudInit: 'none',
    };
    const kv = translated(vmOf(shape, 1));
    const spec = kv.spec?.template?.spec;
    expect(spec?.networks).toEqual([
      { name: 'default', pod: {} },
      { name: 'nic0-blue', multus: { networkName: 'blue' } },
      { name: 'nic1-green', multus: { networkName: 'green' } },
      { name: 'nic2-lab', multus: { networkName: 'lab' } },
      { name: 'nic3-corp', multus: { networkName: 'corp' } },
    ]);
    expect(spec?.domain.devices.interfaces?.map((i) => [i.name, Object.keys(i).sort()])).toEqual([
      ['default', ['macAddress', 'masquerade', 'name']],
      ...['nic0-blue', 'nic1-green', 'nic2-lab', 'nic3-corp'].map((n) => [
        n,
        ['bridge', 'macAddress', 'name'],
      ]),
    ]);
    const data = parse(
      spec?.volumes?.find((v) => v.name === 'cloudinit')?.cloudInitNoCloud?.networkData ?? '',
    );
    expect(data.ethernets['nic0-blue']).toMatchObject({ addresses: ['192.168.100.10/24'] });
    expect(data.ethernets['nic1-green']).toMatchObject({ addresses: ['10.20.1.11/16'] });
    expect(data.ethernets['nic2-lab']).toMatchObject({ dhcp4: true });
    expect(data.ethernets['nic3-corp']).toMatchObject({ dhcp4: true });
    expect(await engineCauses(checks, kv, undefined, rest)).toEqual([]);
  });

  it('sixteen interfaces with long names: the network data shrinks to fit; zero causes', async () => {
    const networks = Array.from({ length: 15 }, (_, k) => L2_NAMES[k % 4] ?? 'blue');
    const kv = translated(
      vmOf({ pod: 'last', networks, longNames: true, cloudInit: 'userData' }, 2),
    );
    const volume = kv.spec?.template?.spec?.volumes?.find((v) => v.name === 'cloudinit');
    const data = JSON.parse(volume?.cloudInitNoCloud?.networkData ?? '{}');
    expect(Object.keys(data.ethernets)).toHaveLength(16);
    expect(await engineCauses(checks, kv, undefined, rest)).toEqual([]);
  });

  it('every generated shape (pod first, last, absent or through a Network of type Pod; 1-15 L2 and NAD interfaces; short and long names; with and without cloud-init) has zero causes', async () => {
    const shapes = fc.sample(
      fc.record<Shape>({
        pod: fc.constantFrom('first', 'last', 'none', 'network'),
        networks: fc.array(fc.constantFrom(...L2_NAMES), { minLength: 1, maxLength: 15 }),
        longNames: fc.boolean(),
        cloudInit: fc.constantFrom('none', 'userData', 'secretRef'),
      }),
      { numRuns: 80, seed: 33 },
    );
    let withData = 0;
    for (const [n, shape] of shapes.entries()) {
      const kv = translated(vmOf(shape, n + 10));
      const spec = kv.spec?.template?.spec;
      // One pod network (masquerade) unless the VM has none; every other interface is bridged.
      expect(spec?.networks?.filter((x) => x.pod).map((x) => x.name)).toEqual(
        shape.pod === 'none' ? [] : ['default'],
      );
      expect(spec?.domain.devices.interfaces?.filter((i) => i.bridge)).toHaveLength(
        shape.networks.length,
      );
      if (kv.spec?.template?.spec?.volumes?.some((v) => v.cloudInitNoCloud?.networkData))
        withData++;
      expect({ shape, causes: await engineCauses(checks, kv, undefined, rest) }).toEqual({
        shape,
        causes: [],
      });
    }
    // Most shapes carry network data: the check above is not only about VMs without it.
    expect(withData).toBeGreaterThan(shapes.length / 2);
  });
});
