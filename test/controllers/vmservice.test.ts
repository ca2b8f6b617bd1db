// The VirtualMachineService controller against the real API server: the Service it writes
// (selectorless, owned, ports mapped), the EndpointSlices that follow the VMs' labels, addresses
// and readiness, the Service's addresses copied back, and a Service vmplane does not own left
// alone. Only this controller runs: the test writes the VMs' status as the VM controller would.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION } from '../../api/src/wellknown.ts';
import { waitUntil } from '../../kube/src/client.ts';
import { Manager } from '../../kube/src/manager.ts';
import { getLive } from '../../kube/src/ownership.ts';
import { KubeRest } from '../../kube/src/rest.ts';
import { vmServiceController } from '../../controllers/src/vmservice/controller.ts';
import { vm as buildVm } from '../support/builders.ts';
import { createNamespace, kubeConfig } from '../support/cluster.ts';

let rest: KubeRest;
let manager: Manager;
let ns = '';

type Obj = Record<string, any>;
const get = (path: string): Promise<Obj | undefined> => getLive<Obj>(rest, path);
const until = <T>(what: string, probe: () => Promise<T | undefined | false>): Promise<T> =>
  waitUntil(what, probe as () => Promise<T | undefined>, 30_000, 100);
const merge = (path: string, body: unknown): Promise<unknown> =>
  rest.request('PATCH', path, { body, contentType: 'application/merge-patch+json' });
const vmPath = (name: string): string =>
  `/apis/${API_VERSION}/namespaces/${ns}/virtualmachines/${name}`;
const vmsvcPath = (name: string): string =>
  `/apis/${API_VERSION}/namespaces/${ns}/virtualmachineservices/${name}`;
const servicePath = (name: string): string => `/api/v1/namespaces/${ns}/services/${name}`;
const slicePath = (name: string): string =>
  `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices/${name}`;

async function makeVm(name: string, labels: Record<string, string>, ip: string, ready: boolean) {
  await rest.create(
    buildVm(
      name,
      {
        className: 'any',
        image: { kind: 'ClusterVirtualMachineImage', name: 'any' },
        powerState: 'PoweredOn',
      },
      { namespace: ns, labels },
    ) as never,
  );
  await setVm(name, ip, ready);
}

async function setVm(name: string, ip: string, ready: boolean): Promise<void> {
  await merge(`${vmPath(name)}/status`, {
    status: {
      primaryIP: ip,
      interfaces: [{ name: 'default', ipAddresses: [ip] }],
      conditions: [
        {
          type: 'Ready',
          status: ready ? 'True' : 'False',
          reason: ready ? 'Ready' : 'NotReady',
          message: '',
          lastTransitionTime: new Date().toISOString(),
        },
      ],
    },
  });
}

/** The endpoints of the service's first slice, as [VM, address, ready], once `want` holds. */
async function endpointsWhen(name: string, want: (e: [string, string, boolean][]) => boolean) {
  return until(`the endpoints of ${name}`, async () => {
    const s = await get(slicePath(`${name}-vmp-0`));
    const e = (s?.endpoints ?? []).map((x: Obj) => [
      x.targetRef.name,
      x.addresses[0],
      x.conditions.ready,
    ]) as [string, string, boolean][];
    return s && want(e) ? e : undefined;
  });
}

beforeAll(async () => {
  rest = new KubeRest(kubeConfig());
  ns = await createNamespace('vmsvc');
  manager = new Manager({
    kc: kubeConfig(),
    logger: pino({ level: 'silent' }),
    scope: (o) => o.metadata?.namespace === ns,
  });
  manager.add(vmServiceController(manager));
  await manager.start();
}, 60_000);

afterAll(async () => {
  await manager?.stop();
  await rest?.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
  rest?.close();
});

describe('VirtualMachineService controller', () => {
  it('writes a selectorless Service it owns, with the ports mapped to the guest ports', async () => {
    await makeVm('web-a', { app: 'web' }, '10.244.0.2', true);
    await makeVm('web-b', { app: 'web' }, '10.244.0.3', false);
    await makeVm('db', { app: 'db' }, '10.244.0.4', true);
    const made = (await rest.create({
      apiVersion: API_VERSION,
      kind: 'VirtualMachineService',
      metadata: { name: 'web', namespace: ns },
      spec: {
        selector: { app: 'web' },
        ports: [
          { name: 'http', port: 80, targetPort: 8080 },
          { name: 'dns', protocol: 'UDP', port: 53, targetPort: 5353 },
        ],
      },
    } as never)) as Obj;
    const svc = await until('the Service', () => get(servicePath('web')));
    expect(svc.metadata.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'vmplane',
      'vmplane.io/vm-service': 'web',
    });
    expect(svc.metadata.ownerReferences).toEqual([
      expect.objectContaining({
        kind: 'VirtualMachineService',
        name: 'web',
        uid: made.metadata.uid,
        controller: true,
      }),
    ]);
    expect(svc.spec.selector).toBeUndefined();
    expect(svc.spec.type).toBe('ClusterIP');
    expect(svc.spec.ports).toEqual([
      { name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 },
      { name: 'dns', protocol: 'UDP', port: 53, targetPort: 5353 },
    ]);
    const status = await until('status.clusterIP', async () => {
      const s = (await get(vmsvcPath('web')))?.status;
      return s?.clusterIP ? s : undefined;
    });
    expect(status.clusterIP).toBe(svc.spec.clusterIP);
    expect(status).toMatchObject({ endpoints: 2, readyEndpoints: 1 });
  });

  it('writes EndpointSlices from the selected VMs: address, readiness, target, ports', async () => {
    await endpointsWhen('web', (e) => e.length === 2);
    const slice = (await get(slicePath('web-vmp-0'))) as Obj;
    expect(slice.metadata.labels).toMatchObject({
      'kubernetes.io/service-name': 'web',
      'endpointslice.kubernetes.io/managed-by': 'vmplane.io',
    });
    expect(slice.addressType).toBe('IPv4');
    expect(slice.ports).toEqual([
      { name: 'http', protocol: 'TCP', port: 8080 },
      { name: 'dns', protocol: 'UDP', port: 5353 },
    ]);
    expect(slice.endpoints).toEqual([
      expect.objectContaining({
        addresses: ['10.244.0.2'],
        conditions: { ready: true, serving: true, terminating: false },
        targetRef: expect.objectContaining({
          kind: 'VirtualMachine',
          name: 'web-a',
          namespace: ns,
        }),
      }),
      expect.objectContaining({
        addresses: ['10.244.0.3'],
        conditions: { ready: false, serving: false, terminating: false },
      }),
    ]);
  });

  it('follows labels, readiness and addresses as they change', async () => {
    await merge(vmPath('db'), { metadata: { labels: { app: 'web' } } });
    await setVm('web-b', '10.244.0.13', true);
    await merge(vmPath('web-a'), { metadata: { labels: { app: 'other' } } });
    expect(
      await endpointsWhen(
        'web',
        (e) => e.length === 2 && e.every(([, , r]) => r) && e[0]?.[0] === 'db',
      ),
    ).toEqual([
      ['db', '10.244.0.4', true],
      ['web-b', '10.244.0.13', true],
    ]);
    await until(
      'readyEndpoints 2',
      async () => (await get(vmsvcPath('web')))?.status?.readyEndpoints === 2,
    );
  });

  it('changes the Service type, and copies a load balancer address back', async () => {
    await merge(vmsvcPath('web'), {
      spec: {
        type: 'LoadBalancer',
        ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: 31080 }],
      },
    });
    const svc = await until('a LoadBalancer Service', async () => {
      const s = await get(servicePath('web'));
      return s?.spec.type === 'LoadBalancer' ? s : undefined;
    });
    expect(svc.spec.ports).toEqual([
      { name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 31080 },
    ]);
    // What MetalLB would write.
    await merge(`${servicePath('web')}/status`, {
      status: { loadBalancer: { ingress: [{ ip: '10.9.0.5' }] } },
    });
    const status = await until('status.loadBalancer', async () => {
      const s = (await get(vmsvcPath('web')))?.status;
      return s?.loadBalancer ? s : undefined;
    });
    expect(status.loadBalancer).toEqual({ ingress: [{ ip: '10.9.0.5' }] });
    expect((await get(slicePath('web-vmp-0')))?.ports).toEqual([
      { name: 'http', protocol: 'TCP', port: 8080 },
    ]);
  });

  it('takes a multi-interface VM at its pod-network address, never at an L2 one', async () => {
    await rest.create(
      buildVm(
        'multi',
        {
          className: 'any',
          image: { kind: 'ClusterVirtualMachineImage', name: 'any' },
          network: { interfaces: [{ name: 'nic1', network: 'blue' }, { name: 'pod' }] },
        },
        { namespace: ns, labels: { app: 'multi' } },
      ) as never,
    );
    const status = (pod: string[]) => ({
      status: {
        primaryIP: '192.168.100.4',
        interfaces: [
          { name: 'nic1', ipAddresses: ['192.168.100.4'] },
          { name: 'pod', ipAddresses: pod },
        ],
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'Ready',
            message: '',
            lastTransitionTime: new Date().toISOString(),
          },
        ],
      },
    });
    await merge(`${vmPath('multi')}/status`, status(['10.244.0.21']));
    await rest.create({
      apiVersion: API_VERSION,
      kind: 'VirtualMachineService',
      metadata: { name: 'multi', namespace: ns },
      spec: { selector: { app: 'multi' }, ports: [{ port: 80, targetPort: 8080 }] },
    } as never);
    expect(await endpointsWhen('multi', (e) => e.length === 1)).toEqual([
      ['multi', '10.244.0.21', true],
    ]);
    // The pod interface loses its address (a restart): the endpoint goes, and primaryIP (the L2
    // address) does not take its place.
    await merge(`${vmPath('multi')}/status`, status([]));
    expect(
      await endpointsWhen('multi', (e) => e.length !== 1 || e[0]?.[1] !== '10.244.0.21'),
    ).toEqual([]);
  });

  it('leaves a Service it does not own alone, and says so in status', async () => {
    const foreign = (await rest.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'taken', namespace: ns, labels: { team: 'theirs' } },
      spec: { selector: { app: 'theirs' }, ports: [{ port: 443, targetPort: 8443 }] },
    } as never)) as Obj;
    await rest.create({
      apiVersion: API_VERSION,
      kind: 'VirtualMachineService',
      metadata: { name: 'taken', namespace: ns },
      spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
    } as never);
    const cond = await until('Ready=False', async () =>
      (await get(vmsvcPath('taken')))?.status?.conditions?.find((c: Obj) => c.type === 'Ready'),
    );
    expect(cond).toMatchObject({ status: 'False', reason: 'NameInUse' });
    expect(cond.message).toContain(
      `Service ${ns}/taken (uid ${foreign.metadata.uid}) not owned by vmplane`,
    );
    const after = (await get(servicePath('taken'))) as Obj;
    expect(after.metadata.resourceVersion).toBe(foreign.metadata.resourceVersion);
    expect(after.spec.selector).toEqual({ app: 'theirs' });
    expect(await get(slicePath('taken-vmp-0'))).toBeUndefined();
  });
});
