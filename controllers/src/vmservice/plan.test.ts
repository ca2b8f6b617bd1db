import { describe, expect, it } from 'vitest';
import type { VirtualMachine, VirtualMachineService } from '../../../api/generated/types.ts';
import {
  desiredService,
  desiredSlices,
  ENDPOINTS_PER_SLICE,
  podAddress,
  serviceStatus,
} from './plan.ts';

const svc = (spec: Partial<VirtualMachineService['spec']> = {}): VirtualMachineService => ({
  apiVersion: 'vmplane.io/v1alpha1',
  kind: 'VirtualMachineService',
  metadata: { name: 'web', namespace: 'demo', uid: 'uid-web', generation: 2 },
  spec: {
    selector: { app: 'web' },
    ports: [
      { name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 },
      { name: 'dns', protocol: 'UDP', port: 53, targetPort: 5353 },
    ],
    ...spec,
  },
});

function vm(
  name: string,
  o: { labels?: Record<string, string>; ready?: boolean; ip?: string; ns?: string } = {},
): VirtualMachine {
  return {
    apiVersion: 'vmplane.io/v1alpha1',
    kind: 'VirtualMachine',
    metadata: {
      name,
      namespace: o.ns ?? 'demo',
      uid: `uid-${name}`,
      labels: o.labels ?? { app: 'web' },
    },
    spec: { powerState: 'PoweredOn' } as VirtualMachine['spec'],
    status: {
      ...(o.ip
        ? { interfaces: [{ name: 'default', ipAddresses: [o.ip] }], nodeName: 'node-1' }
        : {}),
      conditions: [
        {
          type: 'Ready',
          status: o.ready ? 'True' : 'False',
          reason: 'x',
          message: '',
          lastTransitionTime: '2026-01-01T00:00:00Z',
        },
      ],
    },
  };
}

describe('desiredService', () => {
  it('is selectorless, labelled, owned by the VirtualMachineService, with the ports mapped', () => {
    expect(
      desiredService(
        svc({ type: 'NodePort', ports: [{ port: 22, targetPort: 22, nodePort: 30022 }] }),
      ),
    ).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'web',
        namespace: 'demo',
        labels: { 'app.kubernetes.io/managed-by': 'vmplane', 'vmplane.io/vm-service': 'web' },
        ownerReferences: [
          {
            apiVersion: 'vmplane.io/v1alpha1',
            kind: 'VirtualMachineService',
            name: 'web',
            uid: 'uid-web',
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: {
        type: 'NodePort',
        ports: [{ protocol: 'TCP', port: 22, targetPort: 22, nodePort: 30022 }],
      },
    });
  });

  it('defaults to ClusterIP and passes loadBalancerIP only for LoadBalancer', () => {
    expect(desiredService(svc()).spec?.type).toBe('ClusterIP');
    expect(
      desiredService(svc({ type: 'LoadBalancer', loadBalancerIP: '10.9.0.5' })).spec
        ?.loadBalancerIP,
    ).toBe('10.9.0.5');
  });
});

describe('podAddress', () => {
  it('reads the pod interface entry, else primaryIP; IPv4 only; none for L2-only VMs', () => {
    expect(podAddress(vm('a', { ip: '10.244.0.7' }))).toBe('10.244.0.7');
    const v = vm('b');
    v.status = { primaryIP: '10.244.0.9' };
    expect(podAddress(v)).toBe('10.244.0.9');
    v.status = { interfaces: [{ name: 'default', ipAddresses: ['fd00::1', '10.244.0.3'] }] };
    expect(podAddress(v)).toBe('10.244.0.3');
    v.spec.network = { interfaces: [{ name: 'nic1', network: 'blue' }] };
    v.status = { primaryIP: '192.168.100.4' };
    expect(podAddress(v)).toBeUndefined();
    v.spec.network = { interfaces: [{ name: 'nic1', network: 'blue' }, { name: 'pod' }] };
    v.status = {
      interfaces: [
        { name: 'nic1', ipAddresses: ['192.168.100.4'] },
        { name: 'pod', ipAddresses: ['10.244.0.5'] },
      ],
    };
    expect(podAddress(v)).toBe('10.244.0.5');
    // The pod interface has no address yet: primaryIP (the first address, an L2 one) is not it.
    v.status = {
      primaryIP: '192.168.100.4',
      interfaces: [{ name: 'nic1', ipAddresses: ['192.168.100.4'] }, { name: 'pod' }],
    };
    expect(podAddress(v)).toBeUndefined();
    v.status = { primaryIP: '192.168.100.4' };
    expect(podAddress(v)).toBeUndefined();
  });
});

describe('desiredSlices', () => {
  it('has one endpoint per selected VM with an address, ready from its Ready condition, ports at the guest ports', () => {
    const vms = [
      vm('b', { ip: '10.244.0.3', ready: true }),
      vm('a', { ip: '10.244.0.2', ready: false }),
      vm('no-ip', { ready: true }),
      vm('other', { ip: '10.244.0.4', labels: { app: 'db' } }),
      vm('elsewhere', { ip: '10.244.0.5', ns: 'prod' }),
    ];
    const [slice, ...more] = desiredSlices(svc(), vms);
    expect(more).toEqual([]);
    expect(slice?.metadata?.labels).toEqual({
      'app.kubernetes.io/managed-by': 'vmplane',
      'vmplane.io/vm-service': 'web',
      'kubernetes.io/service-name': 'web',
      'endpointslice.kubernetes.io/managed-by': 'vmplane.io',
    });
    expect(slice?.addressType).toBe('IPv4');
    expect(slice?.ports).toEqual([
      { name: 'http', protocol: 'TCP', port: 8080 },
      { name: 'dns', protocol: 'UDP', port: 5353 },
    ]);
    expect(slice?.endpoints).toEqual([
      {
        addresses: ['10.244.0.2'],
        conditions: { ready: false, serving: false, terminating: false },
        targetRef: {
          apiVersion: 'vmplane.io/v1alpha1',
          kind: 'VirtualMachine',
          namespace: 'demo',
          name: 'a',
          uid: 'uid-a',
        },
        nodeName: 'node-1',
      },
      {
        addresses: ['10.244.0.3'],
        conditions: { ready: true, serving: true, terminating: false },
        targetRef: {
          apiVersion: 'vmplane.io/v1alpha1',
          kind: 'VirtualMachine',
          namespace: 'demo',
          name: 'b',
          uid: 'uid-b',
        },
        nodeName: 'node-1',
      },
    ]);
  });

  it('selects nothing with an empty selector, and splits large sets into slices', () => {
    expect(
      desiredSlices(svc({ selector: {} }), [vm('a', { ip: '10.244.0.2' })])[0]?.endpoints,
    ).toEqual([]);
    const many = Array.from({ length: ENDPOINTS_PER_SLICE + 1 }, (_, i) =>
      vm(`vm-${String(i).padStart(3, '0')}`, {
        ip: `10.244.${Math.floor(i / 200)}.${(i % 200) + 2}`,
      }),
    );
    const slices = desiredSlices(svc(), many);
    expect(slices.map((s) => [s.metadata?.name, s.endpoints.length])).toEqual([
      ['web-vmp-0', ENDPOINTS_PER_SLICE],
      ['web-vmp-1', 1],
    ]);
  });
});

describe('serviceStatus', () => {
  it('copies the cluster IP and load balancer, and counts ready endpoints', () => {
    const slices = desiredSlices(svc(), [
      vm('a', { ip: '10.244.0.2', ready: true }),
      vm('b', { ip: '10.244.0.3' }),
    ]);
    const s = serviceStatus(
      svc(),
      {
        spec: { clusterIP: '10.0.0.17' },
        status: { loadBalancer: { ingress: [{ ip: '10.9.0.5' }] } },
      },
      slices,
      undefined,
    );
    expect(s).toMatchObject({
      observedGeneration: 2,
      clusterIP: '10.0.0.17',
      loadBalancer: { ingress: [{ ip: '10.9.0.5' }] },
      endpoints: 2,
      readyEndpoints: 1,
      condition: { status: 'True' },
    });
  });
  it('says what is in the way, with no endpoints counted', () => {
    const s = serviceStatus(svc(), undefined, [], {
      reason: 'NameInUse',
      message: 'Service demo/web is not ours',
    });
    expect(s.condition).toEqual({
      status: 'False',
      reason: 'NameInUse',
      message: 'Service demo/web is not ours',
    });
    expect(s.readyEndpoints).toBe(0);
  });
});
