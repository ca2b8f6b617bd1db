// Randomized: hundreds of creates and deletes of VMs (with inline disks) and VirtualMachineDisks
// whose hyphenated names collide with each other and with a user's own PVCs, DataVolumes and
// KubeVirt VMs in the same namespace, with the controllers running against the real API server
// and the test playing KubeVirt (DataVolumes from the templates) and CDI (claims for
// DataVolumes). At the end not one foreign object changed (same resourceVersion) or went, and
// every vmplane object converged. The seed is printed; SEED=<n> replays a run.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION } from '../../api/src/wellknown.ts';
import { waitUntil } from '../../kube/src/client.ts';
import { ApiError, KubeRest, type KubeObjectLike } from '../../kube/src/rest.ts';
import { startControllers, type RunningControllers } from '../../controllers/src/main.ts';
import { createNamespace, kubeConfig } from '../support/cluster.ts';
import { randomBytes } from 'node:crypto';
import { BLANK_DATA_VOLUME_SPEC, dataVolumesFromTemplates } from '../support/builders.ts';
import { deployKubeVirt, installEngineCrds } from '../support/kubevirt.ts';

const V = API_VERSION;
const OPERATIONS = 300;
const SEED = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31));
const s = randomBytes(3).toString('hex');
let ns = '';
let rest: KubeRest;
let ctl: RunningControllers;

type Meta = {
  name: string;
  uid: string;
  resourceVersion: string;
  deletionTimestamp?: string;
  generation?: number;
  finalizers?: string[];
  labels?: Record<string, string>;
  ownerReferences?: { uid: string }[];
};
type Obj = { metadata: Meta; spec?: any; status?: any };

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PATHS = {
  vm: `/apis/${V}/namespaces/NS/virtualmachines`,
  disk: `/apis/${V}/namespaces/NS/virtualmachinedisks`,
  kv: '/apis/kubevirt.io/v1/namespaces/NS/virtualmachines',
  dv: '/apis/cdi.kubevirt.io/v1beta1/namespaces/NS/datavolumes',
  pvc: '/api/v1/namespaces/NS/persistentvolumeclaims',
};
const at = (p: keyof typeof PATHS): string => PATHS[p].replace('NS', ns);
const list = async (p: keyof typeof PATHS): Promise<Obj[]> =>
  (await rest.request<{ items: Obj[] }>('GET', at(p))).body.items;
/** Creates, tolerating "already exists" (the random walk may repeat a name). */
async function tryCreate(p: keyof typeof PATHS, o: object): Promise<void> {
  try {
    await rest.request('POST', at(p), { body: o });
  } catch (e) {
    // The name is taken: by an object of that kind (409), or, for a DataVolume, by a claim CDI's
    // admission will not let it take over (422).
    const taken =
      e instanceof ApiError &&
      (e.code === 409 || (e.code === 422 && e.message.includes('already exists')));
    if (!taken) throw e;
  }
}
async function tryDelete(p: keyof typeof PATHS, name: string): Promise<void> {
  try {
    await rest.request('DELETE', `${at(p)}/${name}`);
  } catch (e) {
    if (!(e instanceof ApiError && (e.code === 404 || e.code === 409))) throw e;
  }
}

// Names chosen to collide: old-style generated names, VMD names equal to foreign claims, VM names
// equal to foreign KubeVirt VMs, and hyphenated pairs that spell the same prefix.
const VM_NAMES = ['web', 'web-1', 'db', 'a', 'a-b', 'theirs-vm'];
const DISK_NAMES = ['data', '1-boot', 'b-c', 'c', 'boot-x'];
const VMD_NAMES = ['db-data', 'web-boot', 'shared', 'a-b-c', 'user-claim'];
const FOREIGN = {
  pvc: ['web-boot', 'web-1-boot', 'db-data', 'user-claim', 'a-b-c', 'web-data'],
  dv: ['web-boot', 'web-1-boot', 'db-data', 'a-b-c', 'a-b-c-data', 'user-claim'],
  kv: ['theirs-vm', 'db'],
};

function foreignObjects(): [keyof typeof PATHS, object][] {
  // Foreign objects that wear vmplane's labels (so they are in the controllers' label-scoped
  // caches): only the owner's UID may make an object vmplane's.
  const labels = {
    'vmplane.io/vm': 'web',
    'vmplane.io/disk': 'db-data',
    'app.kubernetes.io/managed-by': 'vmplane',
  };
  return [
    ...FOREIGN.pvc.map((name): [keyof typeof PATHS, object] => [
      'pvc',
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name, labels },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    ]),
    ...FOREIGN.dv.map((name): [keyof typeof PATHS, object] => [
      'dv',
      {
        apiVersion: 'cdi.kubevirt.io/v1beta1',
        kind: 'DataVolume',
        metadata: { name, labels },
        spec: BLANK_DATA_VOLUME_SPEC,
      },
    ]),
    ...FOREIGN.kv.map((name): [keyof typeof PATHS, object] => [
      'kv',
      {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachine',
        metadata: { name, labels: { 'vmplane.io/vm': name } },
        spec: { runStrategy: 'Halted', template: { spec: { domain: { devices: {} } } } },
      },
    ]),
  ];
}

const storage = { storageClassName: 'ceph', accessModes: ['ReadWriteMany'], volumeMode: 'Block' };

function randomVm(r: () => number, name: string): object {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const disks: object[] = [];
  const names = new Set<string>();
  for (let i = Math.floor(r() * 3); i > 0; i--) {
    const d = pick(DISK_NAMES);
    if (names.has(d)) continue;
    names.add(d);
    disks.push({ name: d, size: '1Gi', ...storage });
  }
  if (r() < 0.4) disks.push({ name: 'ext', virtualMachineDiskName: pick(VMD_NAMES) });
  return {
    apiVersion: V,
    kind: 'VirtualMachine',
    metadata: { name },
    spec: {
      className: `small-${s}`,
      image: { kind: 'ClusterVirtualMachineImage', name: `img-${s}` },
      bootDisk: { size: '2Gi', ...storage },
      powerState: 'PoweredOff',
      ...(disks.length ? { disks } : {}),
    },
  };
}

/** What KubeVirt and CDI would do: DataVolumes from each KubeVirt VM's templates, claims for DataVolumes. */
async function playEngine(foreignUids: Set<string>): Promise<void> {
  for (const kv of await list('kv')) {
    if (foreignUids.has(kv.metadata.uid) || kv.metadata.deletionTimestamp) continue;
    for (const dv of dataVolumesFromTemplates(kv)) await tryCreate('dv', dv);
  }
  for (const dv of await list('dv')) {
    if (foreignUids.has(dv.metadata.uid) || dv.metadata.deletionTimestamp) continue;
    await tryCreate('pvc', {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name: dv.metadata.name,
        // CDI copies a DataVolume's labels onto its claim.
        labels: dv.metadata.labels ?? {},
        ownerReferences: [
          {
            apiVersion: 'cdi.kubevirt.io/v1beta1',
            kind: 'DataVolume',
            name: dv.metadata.name,
            uid: dv.metadata.uid,
            controller: true,
          },
        ],
      },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
  }
}

beforeAll(async () => {
  rest = new KubeRest(kubeConfig());
  await installEngineCrds(kubeConfig());
  await deployKubeVirt(kubeConfig());
  ns = await createNamespace('own');
  await rest.create({
    apiVersion: V,
    kind: 'VirtualMachineClass',
    metadata: { name: `small-${s}` },
    spec: { hardware: { cpus: 1, memory: '1Gi' } },
  } as KubeObjectLike);
  await rest.create({
    apiVersion: V,
    kind: 'ClusterVirtualMachineImage',
    metadata: { name: `img-${s}` },
    spec: { source: { http: { url: 'https://example.com/i.img' } }, size: '1Gi' },
  } as KubeObjectLike);
  ctl = await startControllers({
    kc: kubeConfig(),
    scope: { namespaces: [ns] },
    logger: pino({ level: 'silent' }),
  });
}, 60_000);

afterAll(async () => {
  await ctl?.stop();
  rest?.close();
});

describe("random creates and deletes beside a user's own objects", () => {
  it(`touch no foreign object and converge (${OPERATIONS} operations)`, async () => {
    for (const [p, o] of foreignObjects()) await tryCreate(p, o);
    const before = new Map<string, string>();
    for (const p of ['pvc', 'dv', 'kv'] as const)
      for (const o of await list(p))
        before.set(`${p}/${o.metadata.uid}`, o.metadata.resourceVersion);
    const foreignUids = new Set([...before.keys()].map((k) => k.split('/')[1] as string));

    const r = rng(SEED);
    const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)] as T;
    const counts = { vmCreate: 0, vmDelete: 0, diskCreate: 0, diskDelete: 0, engine: 0 };
    for (let i = 0; i < OPERATIONS; i++) {
      const x = r();
      if (x < 0.35) {
        counts.vmCreate++;
        await tryCreate('vm', randomVm(r, pick(VM_NAMES)));
      } else if (x < 0.55) {
        counts.vmDelete++;
        await tryDelete('vm', pick(VM_NAMES));
      } else if (x < 0.75) {
        counts.diskCreate++;
        await tryCreate('disk', {
          apiVersion: V,
          kind: 'VirtualMachineDisk',
          metadata: { name: pick(VMD_NAMES) },
          spec: { size: '1Gi', ...storage },
        });
      } else if (x < 0.9) {
        counts.diskDelete++;
        await tryDelete('disk', pick(VMD_NAMES));
      } else {
        counts.engine++;
        await playEngine(foreignUids);
      }
    }
    await playEngine(foreignUids);

    // Converged: every VM and disk is either gone, or reconciled at its generation; a disk being
    // deleted waits only for a VM that still uses it; each VM's engine object is its own or it
    // says NameInUse; each disk's claim is its own or it says NameInUse.
    const converged = async (): Promise<string[]> => {
      const problems: string[] = [];
      const vms = await list('vm');
      const kvs = new Map((await list('kv')).map((k) => [k.metadata.name, k]));
      for (const v of vms) {
        const m = v.metadata;
        if (m.deletionTimestamp) {
          problems.push(`VM ${m.name} still deleting`);
          continue;
        }
        if (v.status?.observedGeneration !== m.generation)
          problems.push(`VM ${m.name} not observed`);
        const kv = kvs.get(m.name);
        const nameInUse = v.status?.printableStatus === 'NameInUse';
        if (FOREIGN.kv.includes(m.name) !== nameInUse)
          problems.push(`VM ${m.name}: printableStatus ${v.status?.printableStatus}`);
        const ext = (v.spec.disks ?? []).some(
          (d: { virtualMachineDiskName?: string }) => d.virtualMachineDiskName,
        );
        if (!nameInUse && !ext && !kv?.metadata.ownerReferences?.some((o) => o.uid === m.uid))
          problems.push(`VM ${m.name} has no KubeVirt VM of its own`);
      }
      const users = (d: string): boolean =>
        vms.some(
          (v) =>
            !v.metadata.deletionTimestamp &&
            (v.spec.disks ?? []).some(
              (x: { virtualMachineDiskName?: string }) => x.virtualMachineDiskName === d,
            ),
        );
      for (const d of await list('disk')) {
        const m = d.metadata;
        if (m.deletionTimestamp) {
          if (!users(m.name)) problems.push(`disk ${m.name} still deleting with no VM using it`);
          continue;
        }
        if (d.status?.observedGeneration !== m.generation)
          problems.push(`disk ${m.name} not observed`);
        const foreign = FOREIGN.dv.includes(m.name);
        const reason = d.status?.conditions?.find(
          (c: { type: string }) => c.type === 'Ready',
        )?.reason;
        if (foreign !== (reason === 'NameInUse'))
          problems.push(`disk ${m.name}: Ready reason ${reason}`);
      }
      return problems;
    };
    let last: string[] = [];
    await waitUntil(
      'every vmplane object converged',
      async () => {
        await ctl.manager.idle();
        last = await converged();
        return last.length === 0;
      },
      90_000,
      500,
    ).catch(async (e: Error) => {
      const kvs = (await list('kv')).map(
        (k) => `${k.metadata.name}<-${k.metadata.ownerReferences?.map((o) => o.uid).join(',')}`,
      );
      const vms = (await list('vm')).map((v) => `${v.metadata.name}=${v.metadata.uid}`);
      throw new Error(
        `seed ${SEED}: ${e.message}: ${last.join('; ')} (KubeVirt VMs: ${kvs.join(' ')}; VMs: ${vms.join(' ')})`,
      );
    });

    // Nothing a deleted disk made is left behind.
    const diskUids = new Set((await list('disk')).map((d) => d.metadata.uid));
    const leaked = (await list('dv')).filter(
      (d) =>
        !foreignUids.has(d.metadata.uid) &&
        (d.metadata.ownerReferences as { kind?: string; uid: string }[] | undefined)?.some(
          (o) => o.kind === 'VirtualMachineDisk' && !diskUids.has(o.uid),
        ),
    );
    expect(leaked.map((d) => d.metadata.name)).toEqual([]);

    const after = new Map<string, string>();
    for (const p of ['pvc', 'dv', 'kv'] as const)
      for (const o of await list(p))
        after.set(`${p}/${o.metadata.uid}`, o.metadata.resourceVersion);
    const changed = [...before].filter(([k, rv]) => after.get(k) !== rv).map(([k]) => k);
    console.log(
      `seed ${SEED}: ${JSON.stringify(counts)}; ${before.size} foreign objects, ${changed.length} changed or gone; ${(await list('vm')).length} VMs, ${(await list('disk')).length} disks, ${(await list('dv')).length - FOREIGN.dv.length} vmplane DataVolumes at the end`,
    );
    expect(changed).toEqual([]);
  }, 240_000);
});
