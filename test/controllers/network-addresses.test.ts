// Addresses that never collide and stay with the VM, on the real API server with the webhooks and
// controllers running: 200 VMs admitted in parallel on a static pool get 400 distinct MACs and 200
// distinct IPs, all in the pool; a VM keeps its addresses across power off/on and re-admission;
// deleting it releases them for reuse; an exhausted pool, a taken IP or MAC, an IP outside the
// pool and a namespace the network is not offered to are refused with messages naming what and
// whom; a dry run claims nothing.
import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetworkAddress, VirtualMachine } from '../../api/generated/types.ts';
import { API_VERSION } from '../../api/src/wellknown.ts';
import { waitUntil } from '../../kube/src/client.ts';
import { getLive } from '../../kube/src/ownership.ts';
import { ApiError, KubeRest, type KubeObjectLike } from '../../kube/src/rest.ts';
import { startControllers, type RunningControllers } from '../../controllers/src/main.ts';
import type { RunningWebhooks } from '../../webhooks/src/main.ts';
import { BOUND_TO } from '../../decisions/src/network-claims.ts';
import { inPool } from '../../decisions/src/network-pool.ts';
import { vm as buildVm } from '../support/builders.ts';
import { createNamespace, kubeConfig } from '../support/cluster.ts';
import { startScopedWebhooks, stopScopedWebhooks } from '../support/webhooks.ts';

const PARALLEL_VMS = 200;
const scope = `a${randomBytes(3).toString('hex')}`;
const SCOPE = { 'vmplane.io/webhook-scope': scope };
const n = (s: string): string => `${s}-${scope}`;
const ADDRESSES = `/apis/${API_VERSION}/networkaddresses`;
const NETWORKS = `/apis/${API_VERSION}/networks`;
const BIG = { cidr: '10.77.0.0/22', gateway: '10.77.0.1' };
const TINY = {
  cidr: '192.168.100.0/28',
  gateway: '192.168.100.1',
  ranges: [{ start: '192.168.100.2', end: '192.168.100.13' }],
};
let red = '';
let blue = '';
let rest: KubeRest;
let webhooks: RunningWebhooks | undefined;
let controllers: RunningControllers | undefined;

function network(name: string, spec: object): KubeObjectLike {
  return {
    apiVersion: API_VERSION,
    kind: 'Network',
    metadata: { name, labels: SCOPE },
    spec: { type: 'L2', l2: { bridge: 'vmp-test' }, ...spec },
  };
}

const cluster: KubeObjectLike[] = [
  {
    apiVersion: API_VERSION,
    kind: 'VirtualMachineClass',
    metadata: { name: n('small'), labels: SCOPE },
    spec: { hardware: { cpus: 1, memory: '1Gi' } },
  },
  {
    apiVersion: API_VERSION,
    kind: 'ClusterVirtualMachineImage',
    metadata: { name: n('debian'), labels: SCOPE },
    spec: { source: { http: { url: 'https://x/d.img' } }, size: '2Gi' },
  },
  {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: n('sc'), labels: SCOPE },
    provisioner: 'rbd.csi.ceph.com',
  },
  network(n('big'), { ipam: { staticPool: BIG } }),
  network(n('tiny'), { ipam: { staticPool: TINY } }),
  network(n('red'), {
    ipam: { externalDHCP: {} },
    namespaceSelector: { matchLabels: { team: n('red') } },
  }),
];

type Iface = NonNullable<NonNullable<VirtualMachine['spec']['network']>['interfaces']>[number];

function vm(name: string, interfaces: Iface[], namespace = red): KubeObjectLike {
  const spec = {
    className: n('small'),
    image: { name: n('debian') },
    bootDisk: { storageClassName: n('sc') },
    network: { interfaces },
  };
  return buildVm(name, spec as never, { namespace }) as unknown as KubeObjectLike;
}

const vmPath = (name: string, namespace = red): string =>
  `/apis/${API_VERSION}/namespaces/${namespace}/virtualmachines/${name}`;

async function create(o: KubeObjectLike, dryRun = false): Promise<VirtualMachine> {
  return (await rest.create(o, { dryRun })) as unknown as VirtualMachine;
}

/** The API server's refusal, from the webhook's message on. */
async function refusal(o: KubeObjectLike): Promise<string> {
  try {
    await rest.create(o);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    return e.message.slice(e.message.indexOf('spec.network'));
  }
  throw new Error(`${o.metadata?.name} was admitted`);
}

async function claims(labels: string): Promise<NetworkAddress[]> {
  const q = `?labelSelector=${encodeURIComponent(labels)}`;
  return (await rest.request<{ items: NetworkAddress[] }>('GET', `${ADDRESSES}${q}`)).body.items;
}

const claimsOf = (name: string, namespace = red): Promise<NetworkAddress[]> =>
  claims(`vmplane.io/vm-namespace=${namespace},vmplane.io/vm-name=${name}`);

const poolOf = async (network: string): Promise<unknown> =>
  (await getLive<{ status?: { pool?: object } }>(rest, `${NETWORKS}/${network}`))?.status?.pool;

/** The big pool's usage in its Network's status comes to `allocated` (1021 addresses in all). */
async function expectPool(allocated: number): Promise<void> {
  const want = { size: 1021, allocated, free: 1021 - allocated };
  await waitUntil(
    `${allocated} addresses allocated in the Network status`,
    async () => isDeepStrictEqual(await poolOf(n('big')), want) || undefined,
  ).catch(() => undefined);
  expect(await poolOf(n('big'))).toEqual(want);
}

/** Runs `task` over `items`, at most `width` at once. */
async function inParallel<T, R>(
  items: T[],
  width: number,
  task: (t: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const k = next++;
      out[k] = await task(items[k] as T);
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return out;
}

beforeAll(async () => {
  rest = new KubeRest(kubeConfig());
  red = await createNamespace('addr-red', { ...SCOPE, team: n('red') });
  blue = await createNamespace('addr-blue', { ...SCOPE, team: n('blue') });
  for (const o of cluster) await rest.create(o);
  webhooks = await startScopedWebhooks(scope);
  controllers = await startControllers({
    kc: kubeConfig(),
    logger: pino({ level: process.env.DEBUG_IPAM ? 'warn' : 'silent' }),
    scope: { namespaces: [red, blue], clusterLabel: ['vmplane.io/webhook-scope', scope] },
    namespace: `vmplane-${scope}`,
  });
  await waitUntil(
    'the webhook cache to see the class and image',
    async () =>
      webhooks?.cache.vmClass(n('small')) &&
      webhooks.cache.clusterImages().some((i) => i.metadata.name === n('debian')),
  );
}, 180_000);

afterAll(async () => {
  for (const ns of [red, blue].filter(Boolean)) {
    await rest.request('DELETE', `/apis/${API_VERSION}/namespaces/${ns}/virtualmachines`);
    // The controllers take their finalizers off before they stop.
    await waitUntil(
      `the VMs of ${ns} to go`,
      async () => {
        const { body } = await rest.request<{ items: unknown[] }>(
          'GET',
          `/apis/${API_VERSION}/namespaces/${ns}/virtualmachines`,
        );
        return body.items.length === 0 || undefined;
      },
      180_000,
    );
  }
  await controllers?.stop();
  await stopScopedWebhooks(webhooks);
  for (const ns of [red, blue].filter(Boolean)) {
    const q = encodeURIComponent(`vmplane.io/vm-namespace=${ns}`);
    await rest.request('DELETE', `${ADDRESSES}?labelSelector=${q}`);
    await rest.request('DELETE', `/api/v1/namespaces/${ns}`);
  }
  for (const o of cluster) await rest.delete(o).catch(() => undefined);
}, 300_000);

describe('addresses at admission', () => {
  it(`gives ${PARALLEL_VMS} VMs admitted in parallel distinct MACs and distinct IPs from the pool`, async () => {
    const names = Array.from({ length: PARALLEL_VMS }, (_, k) => `p${k}`);
    const started = Date.now();
    await inParallel(names, 50, (name) =>
      create(vm(name, [{ name: 'pod' }, { name: 'lab', network: n('big') }])),
    );
    console.log(`${PARALLEL_VMS} VMs admitted in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const { body } = await rest.request<{ items: VirtualMachine[] }>(
      'GET',
      `/apis/${API_VERSION}/namespaces/${red}/virtualmachines`,
    );
    const vms = body.items.filter((v) => names.includes(v.metadata.name ?? ''));
    expect(vms).toHaveLength(PARALLEL_VMS);
    const ifaces = vms.flatMap((v) => v.spec.network?.interfaces ?? []);
    const macs = ifaces.map((i) => i.macAddress);
    const ips = ifaces.flatMap((i) => (i.network ? [i.ipAddress] : []));
    expect(macs.every((m) => /^02:76:6d(:[0-9a-f]{2}){3}$/.test(m ?? ''))).toBe(true);
    expect(new Set(macs).size).toBe(2 * PARALLEL_VMS);
    expect(ips).toHaveLength(PARALLEL_VMS);
    expect(new Set(ips).size).toBe(PARALLEL_VMS);
    expect(ips.filter((ip) => !inPool(BIG, ip ?? ''))).toEqual([]);
    // Each address is held by exactly one claim, naming the VM interface that has it.
    const ipClaims = await claims(`vmplane.io/network=${n('big')}`);
    expect(ipClaims.map((c) => c.spec.address).sort()).toEqual([...ips].sort());
    await expectPool(PARALLEL_VMS);
  }, 600_000);

  it('keeps the addresses across power off and on, re-admission and in status', async () => {
    const before = (await getLive<VirtualMachine>(rest, vmPath('p7')))!;
    const addresses = before.spec.network?.interfaces;
    for (const powerState of ['PoweredOff', 'PoweredOn']) {
      await rest.request('PATCH', vmPath('p7'), {
        body: { spec: { powerState } },
        contentType: 'application/merge-patch+json',
      });
      const after = await getLive<VirtualMachine>(rest, vmPath('p7'));
      expect(after?.spec.powerState).toBe(powerState);
      expect(after?.spec.network?.interfaces).toEqual(addresses);
    }
    // The manifest applied again without the addresses (a retried or replayed admission): the
    // VM finds its own claims and gets the same ones back.
    await waitUntil('a replace of p7 that does not conflict with a status write', async () => {
      const current = (await getLive<VirtualMachine>(rest, vmPath('p7')))!;
      current.spec.network = { interfaces: [{ name: 'pod' }, { name: 'lab', network: n('big') }] };
      try {
        await rest.request('PUT', vmPath('p7'), { body: current });
        return true;
      } catch (e) {
        if (e instanceof ApiError && e.code === 409) return undefined;
        throw e;
      }
    });
    const replaced = await getLive<VirtualMachine>(rest, vmPath('p7'));
    expect(replaced?.spec.network?.interfaces).toEqual(addresses);
    expect(await claimsOf('p7')).toHaveLength(3);
    const lab = addresses?.find((i) => i.name === 'lab');
    await waitUntil('status.interfaces with network, MAC and IP', async () => {
      const v = await getLive<VirtualMachine>(rest, vmPath('p7'));
      const s = v?.status?.interfaces?.find((i) => i.name === 'lab');
      return s?.network === n('big') &&
        s.macAddress === lab?.macAddress &&
        s.ipAddress === lab?.ipAddress
        ? s
        : undefined;
    });
  });

  it('releases the addresses of a deleted VM, and they can be given again', async () => {
    const gone = (await getLive<VirtualMachine>(rest, vmPath('p9')))!;
    const lab = gone.spec.network?.interfaces?.find((i) => i.name === 'lab');
    // The controller binds each claim to the VM it has seen carrying it (its UID)...
    await waitUntil('the 3 claims of p9 bound to it', async () => {
      const bound = (await claimsOf('p9')).filter(
        (c) => c.metadata?.annotations?.[BOUND_TO] === gone.metadata?.uid,
      );
      return bound.length === 3 || undefined;
    });
    await rest.request('DELETE', vmPath('p9'));
    // ...so that they go as soon as that VM is gone, without waiting out the grace period.
    await waitUntil(
      'the claims of p9 to go',
      async () => (await claimsOf('p9')).length === 0 || undefined,
      120_000,
      500,
    );
    await expectPool(PARALLEL_VMS - 1);
    const again = await create(
      vm('reuse', [
        { name: 'lab', network: n('big'), macAddress: lab?.macAddress, ipAddress: lab?.ipAddress },
      ]),
    );
    expect(again.spec.network?.interfaces?.[0]).toMatchObject({
      macAddress: lab?.macAddress,
      ipAddress: lab?.ipAddress,
    });
  }, 180_000);

  it('keeps every address of a VM deleted and made again at once under its name claimed', async () => {
    // The controller releases the old VM's claims while the new VM's admission hands them out
    // again: whichever wins, each address the new VM carries ends up claimed and bound to it.
    const names = Array.from({ length: 20 }, (_, k) => `p${20 + k}`);
    const again = await inParallel(names, 20, async (name) => {
      await rest.request('DELETE', vmPath(name));
      await waitUntil(
        `${name} to go`,
        async () => !(await getLive(rest, vmPath(name))) || undefined,
      );
      return create(vm(name, [{ name: 'pod' }, { name: 'lab', network: n('big') }]));
    });
    for (const v of again) {
      const carried = (v.spec.network?.interfaces ?? []).flatMap((i) => [
        `mac:${i.macAddress}`,
        ...(i.ipAddress ? [`ip:${i.ipAddress}`] : []),
      ]);
      await waitUntil(`the addresses of ${v.metadata.name} claimed and bound to it`, async () => {
        const bound = (await claimsOf(v.metadata.name ?? ''))
          .filter((c) => c.metadata?.annotations?.[BOUND_TO] === v.metadata.uid)
          .map((c) => `${c.spec.kind.toLowerCase()}:${c.spec.address}`);
        return isDeepStrictEqual(bound.sort(), [...carried].sort()) || undefined;
      });
    }
    await expectPool(PARALLEL_VMS);
  });

  it('refuses an exhausted pool with the network name and its usage', async () => {
    const names = Array.from({ length: 12 }, (_, k) => `t${k}`);
    await inParallel(names, 12, (name) => create(vm(name, [{ name: 'lab', network: n('tiny') }])));
    expect(await refusal(vm('t12', [{ name: 'lab', network: n('tiny') }]))).toBe(
      `spec.network.interfaces[0].network: network "${n('tiny')}" has no free address: 12 of 12 allocated in 192.168.100.0/28 (ranges 192.168.100.2-192.168.100.13); free addresses by deleting VMs on it, or widen spec.ipam.staticPool.ranges`,
    );
    expect(await claimsOf('t12')).toEqual([]);
  });

  it('refuses a taken IP or MAC naming the VM holding it, and an IP outside the pool', async () => {
    const holder = (await getLive<VirtualMachine>(rest, vmPath('p3')))!;
    const lab = holder.spec.network?.interfaces?.find((i) => i.name === 'lab');
    expect(
      await refusal(vm('dup-ip', [{ name: 'nic0', network: n('big'), ipAddress: lab?.ipAddress }])),
    ).toBe(
      `spec.network.interfaces[0].ipAddress: "${lab?.ipAddress}" on network "${n('big')}" is already in use by interface lab of VirtualMachine ${red}/p3: choose another address of the pool, or omit ipAddress to get a free one`,
    );
    expect(
      await refusal(
        vm('dup-mac', [
          { name: 'nic0' },
          { name: 'nic1', network: n('red'), macAddress: lab?.macAddress },
        ]),
      ),
    ).toBe(
      `spec.network.interfaces[1].macAddress: "${lab?.macAddress}" is already in use by interface lab of VirtualMachine ${red}/p3: choose another MAC address, or omit macAddress to get a free one`,
    );
    expect(
      await refusal(vm('outside', [{ name: 'nic0', network: n('big'), ipAddress: '10.77.4.1' }])),
    ).toBe(
      `spec.network.interfaces[0].ipAddress: "10.77.4.1" is not in the pool of network "${n('big')}": use an address of 10.77.0.2-10.77.3.254 (10.77.0.0/22), or omit ipAddress to get a free one`,
    );
    // Nothing the refused requests claimed is left behind.
    for (const name of ['dup-ip', 'dup-mac', 'outside']) expect(await claimsOf(name)).toEqual([]);
  });

  it('decides on a dry run but claims nothing', async () => {
    const dry = await create(vm('dry', [{ name: 'lab', network: n('big') }]), true);
    const iface = dry.spec.network?.interfaces?.[0];
    expect(iface?.macAddress).toMatch(/^02:76:6d/);
    expect(inPool(BIG, iface?.ipAddress ?? '')).toBe(true);
    expect(await claimsOf('dry')).toEqual([]);
  });

  it('refuses a network in a namespace its namespaceSelector leaves out', async () => {
    expect(await refusal(vm('blue-vm', [{ name: 'nic0', network: n('red') }], blue))).toMatch(
      new RegExp(
        `^spec.network.interfaces\\[0\\].network: network "${n('red')}" is not offered to namespace "${blue}"`,
      ),
    );
    // Refused before anything was claimed for it.
    expect(await claimsOf('blue-vm', blue)).toEqual([]);
    const ok = await create(vm('red-vm', [{ name: 'nic0', network: n('red') }]));
    expect(ok.spec.network?.interfaces?.[0]?.macAddress).toMatch(/^02:76:6d/);
  });
});
