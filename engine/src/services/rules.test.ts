import { describe, expect, it } from 'vitest';
import {
  frontends,
  readyEndpoints,
  serviceRules,
  type EndpointSlice,
  type Service,
} from './rules.ts';

const svc = (name: string, spec: Service['spec'], status?: Service['status']): Service => ({
  metadata: { namespace: 'ns', name },
  spec,
  ...(status ? { status } : {}),
});
const slice = (
  name: string,
  port: number,
  endpoints: EndpointSlice['endpoints'],
  portName = 'http',
): EndpointSlice => ({
  metadata: { namespace: 'ns', labels: { 'kubernetes.io/service-name': name } },
  addressType: 'IPv4',
  ports: [{ name: portName, port, protocol: 'TCP' }],
  endpoints,
});

describe('readyEndpoints', () => {
  it('keeps ready and unknown-readiness IPv4 endpoints of the named port, drops not-ready ones', () => {
    const got = readyEndpoints(
      [
        slice('a', 8080, [
          { addresses: ['10.244.0.3'], conditions: { ready: true } },
          { addresses: ['10.244.0.2'] },
          { addresses: ['10.244.0.4'], conditions: { ready: false } },
        ]),
        slice('a', 9090, [{ addresses: ['10.244.0.9'] }], 'other'),
        { ...slice('a', 8080, [{ addresses: ['fd00::1'] }]), addressType: 'IPv6' },
      ],
      'http',
      'TCP',
    );
    expect(got).toEqual([
      { ip: '10.244.0.2', port: 8080 },
      { ip: '10.244.0.3', port: 8080 },
    ]);
  });
});

describe('frontends', () => {
  it('reaches a ClusterIP port, a NodePort at the node and a LoadBalancer ingress', () => {
    const f = frontends(
      [
        svc('c', { clusterIP: '10.0.0.5', ports: [{ name: 'http', port: 80 }] }),
        svc('n', {
          type: 'NodePort',
          clusterIP: '10.0.0.6',
          ports: [{ name: 'http', port: 80, nodePort: 30001 }],
        }),
        svc(
          'l',
          {
            type: 'LoadBalancer',
            clusterIP: '10.0.0.7',
            ports: [{ name: 'http', port: 443, nodePort: 30002 }],
          },
          { loadBalancer: { ingress: [{ ip: '10.244.255.1' }] } },
        ),
        svc('x', { type: 'ExternalName', ports: [{ port: 80 }] }),
        svc('headless', { clusterIP: 'None', ports: [{ port: 80 }] }),
      ],
      [],
      '10.244.0.1',
    );
    expect(f.map((x) => [x.id, x.addresses])).toEqual([
      ['ns/c:http', [{ ip: '10.0.0.5', port: 80 }]],
      [
        'ns/l:http',
        [
          { ip: '10.0.0.7', port: 443 },
          { ip: '10.244.255.1', port: 443 },
          { ip: '10.244.0.1', port: 30002 },
        ],
      ],
      [
        'ns/n:http',
        [
          { ip: '10.0.0.6', port: 80 },
          { ip: '10.244.0.1', port: 30001 },
        ],
      ],
    ]);
  });
});

describe('serviceRules', () => {
  const rules = serviceRules(
    [
      svc('web', { clusterIP: '10.0.0.5', ports: [{ name: 'http', port: 80 }] }),
      svc('empty', { clusterIP: '10.0.0.6', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] }),
    ],
    [slice('web', 8080, [{ addresses: ['10.244.0.2'] }, { addresses: ['10.244.0.3'] }])],
    '10.244.0.1',
  );

  it('replaces the whole table atomically and hooks prerouting and output', () => {
    expect(rules.split('\n').slice(0, 3)).toEqual([
      'table ip vmplane-services',
      'delete table ip vmplane-services',
      'table ip vmplane-services {',
    ]);
    expect(rules).toContain('type nat hook prerouting priority dstnat');
    expect(rules).toContain('type nat hook output priority -100');
  });

  it('spreads a service port over its endpoints at random, with hairpin masquerade', () => {
    expect(rules).toMatch(/ip daddr 10\.0\.0\.5 meta l4proto tcp th dport 80 goto svc-\w+/);
    expect(rules).toMatch(/numgen random mod 2 vmap \{ 0 : goto ep-\w+, 1 : goto ep-\w+ \}/);
    expect(rules).toContain('meta l4proto tcp dnat to 10.244.0.2:8080');
    expect(rules).toContain('meta l4proto tcp dnat to 10.244.0.3:8080');
    expect(rules).toContain('ip saddr 10.244.0.3 meta mark set meta mark | 0x4000');
    expect(rules).toContain('meta mark & 0x4000 == 0x4000 masquerade');
  });

  it('rejects a service port without ready endpoints', () => {
    expect(rules).toContain('elements = { 10.0.0.6 . udp . 53 }');
    expect(rules).not.toMatch(/daddr 10\.0\.0\.6 .* goto/);
  });

  it('has no elements and no reject rule when every port has endpoints', () => {
    const none = serviceRules([], [], '10.244.0.1');
    expect(none).not.toContain('elements');
    expect(none).not.toContain('@no-endpoints');
  });
});
