// The NetworkAttachmentDefinition controller against the real API server: definitions written in
// the namespaces whose VMs use an L2 Network (checked field by field, the CNI configuration as an
// exact string), updated when the Network changes, removed when unused and when the Network goes,
// and one vmplane does not own left alone. Only this controller runs, against the real Network
// CRD (its schema, defaults and rules) the global setup installs with vmplane's other kinds.
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION } from '../../api/src/wellknown.ts';
import { waitUntil } from '../../kube/src/client.ts';
import { Manager } from '../../kube/src/manager.ts';
import { getLive } from '../../kube/src/ownership.ts';
import { KubeRest } from '../../kube/src/rest.ts';
import { nadController } from '../../controllers/src/network/nad.ts';
import { vm as buildVm } from '../support/builders.ts';
import { createNamespace, kubeConfig } from '../support/cluster.ts';

type Obj = Record<string, any>;
const sfx = randomBytes(3).toString('hex');
const SCOPE: [string, string] = ['vmplane.io/test-scope', `nad-${sfx}`];
const NET = `vlan-${sfx}`;
const NETWORKS = `/apis/${API_VERSION}/networks`;
let rest: KubeRest;
let manager: Manager;
let nsA = '';
let nsB = '';
let nsC = '';

const get = (path: string): Promise<Obj | undefined> => getLive<Obj>(rest, path);
const until = <T>(what: string, probe: () => Promise<T | undefined | false>): Promise<T> =>
  waitUntil(what, probe as () => Promise<T | undefined>, 30_000, 100);
const merge = (path: string, body: unknown): Promise<unknown> =>
  rest.request('PATCH', path, { body, contentType: 'application/merge-patch+json' });
const nadPath = (ns: string): string =>
  `/apis/k8s.cni.cncf.io/v1/namespaces/${ns}/network-attachment-definitions/${NET}`;
const vmPath = (ns: string, name: string): string =>
  `/apis/${API_VERSION}/namespaces/${ns}/virtualmachines/${name}`;
const config = (vlan: number): string =>
  `{"cniVersion":"0.3.1","name":"${NET}","type":"bridge","bridge":"br-${sfx}","vlan":${vlan},"ipam":{}}`;

function vm(ns: string, name: string, network?: string): object {
  return buildVm(
    name,
    {
      className: 'any',
      image: { kind: 'ClusterVirtualMachineImage', name: 'any' },
      network: {
        interfaces: [{ name: 'default' }, ...(network ? [{ name: 'nic1', network }] : [])],
      },
    },
    { namespace: ns },
  );
}

beforeAll(async () => {
  rest = new KubeRest(kubeConfig());
  [nsA, nsB, nsC] = [
    await createNamespace('nad-a'),
    await createNamespace('nad-b'),
    await createNamespace('nad-c'),
  ];
  const namespaces = [nsA, nsB, nsC];
  manager = new Manager({
    kc: kubeConfig(),
    logger: pino({ level: 'silent' }),
    scope: (o) =>
      o.metadata?.namespace
        ? namespaces.includes(o.metadata.namespace)
        : o.metadata?.labels?.[SCOPE[0]] === SCOPE[1],
  });
  manager.add(nadController(manager));
  await manager.start();
}, 60_000);

afterAll(async () => {
  await manager?.stop();
  await rest?.request('DELETE', `${NETWORKS}/${NET}`).catch(() => undefined);
  for (const ns of [nsA, nsB, nsC])
    await rest?.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
  rest?.close();
});

describe('NetworkAttachmentDefinitions for L2 Networks', () => {
  let network: Obj;

  it('uses the real Network kind: ipam is exactly one of externalDHCP and staticPool', async () => {
    for (const ipam of [{}, { externalDHCP: {}, staticPool: { cidr: '10.9.0.0/24' } }]) {
      const refused = await rest
        .create(
          {
            apiVersion: API_VERSION,
            kind: 'Network',
            metadata: { name: `bad-${sfx}`, labels: { [SCOPE[0]]: SCOPE[1] } },
            spec: { ipam },
          } as never,
          { dryRun: true },
        )
        .then(
          () => 'accepted',
          (e: Error) => e.message,
        );
      expect(refused).toContain('spec.ipam: Invalid value');
      expect(refused).toContain('set exactly one of externalDHCP, staticPool');
    }
  });

  it('writes one in each namespace whose VMs use the network, field by field', async () => {
    network = (await rest.create({
      apiVersion: API_VERSION,
      kind: 'Network',
      metadata: { name: NET, labels: { [SCOPE[0]]: SCOPE[1] } },
      spec: { l2: { bridge: `br-${sfx}`, vlanID: 42 }, ipam: { externalDHCP: {} } },
    } as never)) as Obj;
    // The real CRD defaults the type to L2, which is what makes the controller write definitions.
    expect(network.spec.type).toBe('L2');
    await rest.create(vm(nsA, 'a1', NET) as never);
    await rest.create(vm(nsB, 'b1', NET) as never);
    await rest.create(vm(nsC, 'c0') as never);
    for (const ns of [nsA, nsB]) {
      const nad = await until(`the definition in ${ns}`, () => get(nadPath(ns)));
      expect(nad.apiVersion).toBe('k8s.cni.cncf.io/v1');
      expect(nad.kind).toBe('NetworkAttachmentDefinition');
      expect(nad.metadata.name).toBe(NET);
      expect(nad.metadata.namespace).toBe(ns);
      expect(nad.metadata.labels).toEqual({ 'app.kubernetes.io/managed-by': 'vmplane' });
      expect(nad.metadata.annotations).toEqual({ 'vmplane.io/network': NET });
      expect(nad.metadata.ownerReferences).toEqual([
        { apiVersion: API_VERSION, kind: 'Network', name: NET, uid: network.metadata.uid },
      ]);
      expect(nad.spec).toEqual({ config: config(42) });
    }
    expect(await get(nadPath(nsC))).toBeUndefined();
    // The status follows the definitions: a reconcile that saw only a1 may have written [nsA].
    const status = await until('status.namespaces to name both', async () => {
      const listed: string[] | undefined = (await get(`${NETWORKS}/${NET}`))?.status?.namespaces;
      return listed?.length === 2 && listed;
    });
    expect(status).toEqual([nsA, nsB].sort());
  });

  it('follows a change of the Network (its VLAN) in every definition', async () => {
    await merge(`${NETWORKS}/${NET}`, { spec: { l2: { vlanID: 43 } } });
    for (const ns of [nsA, nsB])
      await until(
        `VLAN 43 in ${ns}`,
        async () => (await get(nadPath(ns)))?.spec.config === config(43),
      );
  });

  it('leaves a definition it does not own alone, and warns the VM that would use it', async () => {
    const foreign = (await rest.create({
      apiVersion: 'k8s.cni.cncf.io/v1',
      kind: 'NetworkAttachmentDefinition',
      metadata: { name: NET, namespace: nsC },
      spec: { config: '{"cniVersion":"0.3.1","name":"theirs","type":"macvlan"}' },
    } as never)) as Obj;
    await rest.create(vm(nsC, 'c1', NET) as never);
    const event = await until('a Warning Event on the VM', async () => {
      const list = await rest.request<{ items: Obj[] }>('GET', `/api/v1/namespaces/${nsC}/events`);
      return list.body.items.find(
        (e) => e.involvedObject.name === 'c1' && e.reason === 'NetworkAttachmentDefinitionInUse',
      );
    });
    expect(event.type).toBe('Warning');
    expect(event.message).toContain(`(uid ${foreign.metadata.uid}) not owned by vmplane`);
    const after = (await get(nadPath(nsC))) as Obj;
    expect(after.metadata.resourceVersion).toBe(foreign.metadata.resourceVersion);
    expect(after.spec.config).toBe(foreign.spec.config);
    expect((await get(`${NETWORKS}/${NET}`))?.status?.namespaces).toEqual([nsA, nsB].sort());
  });

  it('removes a definition once no VM of its namespace uses the network', async () => {
    await rest.request('DELETE', vmPath(nsB, 'b1'));
    await until(`no definition in ${nsB}`, async () => !(await get(nadPath(nsB))));
    await merge(vmPath(nsA, 'a1'), { spec: { network: { interfaces: [{ name: 'default' }] } } });
    await until(`no definition in ${nsA}`, async () => !(await get(nadPath(nsA))));
    await until(
      'status.namespaces empty',
      async () => (await get(`${NETWORKS}/${NET}`))?.status?.namespaces?.length === 0,
    );
    await merge(vmPath(nsA, 'a1'), {
      spec: { network: { interfaces: [{ name: 'default' }, { name: 'nic1', network: NET }] } },
    });
    await until(`the definition back in ${nsA}`, () => get(nadPath(nsA)));
  });

  it('a static-pool Network without l2: bridge vmp-<name>, no VLAN, no IPAM in the plugin', async () => {
    const pool = `p-${sfx}`;
    const made = (await rest.create({
      apiVersion: API_VERSION,
      kind: 'Network',
      metadata: { name: pool, labels: { [SCOPE[0]]: SCOPE[1] } },
      spec: { ipam: { staticPool: { cidr: '10.77.0.0/24', gateway: '10.77.0.1' } } },
    } as never)) as Obj;
    await rest.create(vm(nsC, 'c2', pool) as never);
    const path = `/apis/k8s.cni.cncf.io/v1/namespaces/${nsC}/network-attachment-definitions/${pool}`;
    const nad = await until(`the definition of ${pool}`, () => get(path));
    expect(nad.metadata.labels).toEqual({ 'app.kubernetes.io/managed-by': 'vmplane' });
    expect(nad.metadata.annotations).toEqual({ 'vmplane.io/network': pool });
    expect(nad.metadata.ownerReferences).toEqual([
      { apiVersion: API_VERSION, kind: 'Network', name: pool, uid: made.metadata.uid },
    ]);
    expect(nad.spec).toEqual({
      config: `{"cniVersion":"0.3.1","name":"${pool}","type":"bridge","bridge":"vmp-${pool}","ipam":{}}`,
    });
    await rest.request('DELETE', `${NETWORKS}/${pool}`);
    await until(`no definition of ${pool}`, async () => !(await get(path)));
  });

  it('removes its definitions when the Network goes, and only its own', async () => {
    await rest.request('DELETE', `${NETWORKS}/${NET}`);
    await until(`no definition in ${nsA}`, async () => !(await get(nadPath(nsA))));
    expect((await get(nadPath(nsC)))?.spec.config).toContain('macvlan');
  });
});
