// NetworkPolicy and Service translation for REAL, without QEMU: the rulesets the engine generates
// (engine/src/netpol/rules.ts, engine/src/services/rules.ts) are loaded with nft into a node
// namespace of the test's own (a user + network namespace, pods as nested network namespaces
// routed through it, as the engine's node network is built), and real TCP connections between the
// pods show what passes and what is dropped, with the drop counters. Every address is inside the
// namespaces the test creates; they go away with their processes after the tests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  networkPolicyRules,
  type NetworkPolicy,
  type PodInfo,
} from '../../engine/src/netpol/rules.ts';
import { serviceRoutes, serviceRules, type ServicePort } from '../../engine/src/services/rules.ts';
import { allocateLoadBalancers, LB_POOL, parsePool } from '../../engine/src/services/lb-pool.ts';
import { PodLab } from '../support/pod-lab.ts';

const PORTS = [80, 81, 8080, 9000, 9001, 9002];
/** The pods: namespace, labels, address, and named ports (as a VM's interfaces declare them). */
const PODS: PodInfo[] = [
  {
    namespace: 'web',
    name: 'server',
    labels: { app: 'server' },
    ips: ['10.244.0.10'],
    ports: [
      { name: 'http', port: 8080, protocol: 'TCP' },
      { name: 'metrics', port: 9000, protocol: 'TCP' },
    ],
  },
  {
    namespace: 'web',
    name: 'other',
    labels: { app: 'other' },
    ips: ['10.244.0.11'],
    ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
  },
  { namespace: 'web', name: 'client', labels: { app: 'client' }, ips: ['10.244.0.12'], ports: [] },
  {
    namespace: 'ops',
    name: 'ops-client',
    labels: { app: 'client' },
    ips: ['10.244.0.20'],
    ports: [],
  },
  {
    namespace: 'ops',
    name: 'ops-admin',
    labels: { app: 'admin' },
    ips: ['10.244.0.21'],
    ports: [],
  },
  {
    namespace: 'guest',
    name: 'guest-client',
    labels: { app: 'client' },
    ips: ['10.244.0.30'],
    ports: [],
  },
];
const NAMESPACES = [
  { name: 'web', labels: { team: 'web' } },
  { name: 'ops', labels: { team: 'ops' } },
  { name: 'guest', labels: { team: 'guest' } },
];
const ip = (pod: string): string => PODS.find((p) => p.name === pod)?.ips[0] ?? '';

const lab = new PodLab();

/** Loads the policies and connects from each source to each target: what answered, by case. */
async function outcomes(
  policies: NetworkPolicy[],
  cases: [from: string, to: string, port: number][],
): Promise<string[]> {
  await lab.nft(networkPolicyRules(policies, PODS, NAMESPACES));
  return Promise.all(cases.map(([from, to, port]) => lab.connect(from, ip(to), port)));
}

const policy = (name: string, spec: NetworkPolicy['spec'], namespace = 'web'): NetworkPolicy => ({
  metadata: { namespace, name },
  spec,
});
const server = { matchLabels: { app: 'server' } };

beforeAll(async () => {
  await lab.start();
  for (const p of PODS) await lab.addPod(p.name, p.ips[0] ?? '', PORTS);
}, 120_000);
afterAll(() => lab.close());

describe('NetworkPolicy enforced by nftables in a node namespace', () => {
  it('without policies every pod reaches every other', async () => {
    expect(
      await outcomes(
        [],
        [
          ['client', 'server', 80],
          ['guest-client', 'server', 8080],
          ['server', 'ops-admin', 81],
        ],
      ),
    ).toEqual(['server', 'server', 'ops-admin']);
  });

  it('deny-all ingress cuts the selected pod off, counts the drops, and leaves the others alone', async () => {
    const deny = policy('deny', { podSelector: server, policyTypes: ['Ingress'] });
    const got = await outcomes(
      [deny],
      [
        ['client', 'server', 80],
        ['ops-client', 'server', 8080],
        ['client', 'other', 80],
        // The isolated pod's own connections out are not isolated (ingress only).
        ['server', 'other', 81],
      ],
    );
    expect(got).toEqual(['timeout', 'timeout', 'other', 'other']);
    expect(await lab.counter('inet vmplane-netpol', 'dropped ingress web/server')).toBeGreaterThan(
      0,
    );
  });

  it('a podSelector peer admits pods of the policy namespace only', async () => {
    const p = policy('from-clients', {
      podSelector: server,
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }] }],
    });
    expect(
      await outcomes(
        [p],
        [
          ['client', 'server', 80],
          ['other', 'server', 80],
          ['ops-client', 'server', 80],
        ],
      ),
    ).toEqual(['server', 'timeout', 'timeout']);
  });

  it('a namespaceSelector peer admits every pod of the matching namespaces', async () => {
    const p = policy('from-ops', {
      podSelector: server,
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'ops' } } }] }],
    });
    expect(
      await outcomes(
        [p],
        [
          ['ops-client', 'server', 80],
          ['ops-admin', 'server', 80],
          ['client', 'server', 80],
        ],
      ),
    ).toEqual(['server', 'server', 'timeout']);
  });

  it('namespaceSelector and podSelector in one peer are both required; in two peers either is enough', async () => {
    const ns = { matchLabels: { team: 'ops' } };
    const clients = { matchLabels: { app: 'client' } };
    const and = policy('and', {
      podSelector: server,
      ingress: [{ from: [{ namespaceSelector: ns, podSelector: clients }] }],
    });
    const cases: [string, string, number][] = [
      ['ops-client', 'server', 80],
      ['ops-admin', 'server', 80],
      ['client', 'server', 80],
      ['guest-client', 'server', 80],
    ];
    expect(await outcomes([and], cases)).toEqual(['server', 'timeout', 'timeout', 'timeout']);
    const or = policy('or', {
      podSelector: server,
      ingress: [{ from: [{ namespaceSelector: ns }, { podSelector: clients }] }],
    });
    expect(await outcomes([or], cases)).toEqual(['server', 'server', 'server', 'timeout']);
  });

  it('an ipBlock admits its CIDR except the excepted ranges', async () => {
    const p = policy('block', {
      podSelector: server,
      ingress: [{ from: [{ ipBlock: { cidr: '10.244.0.0/24', except: ['10.244.0.20/31'] } }] }],
    });
    expect(
      await outcomes(
        [p],
        [
          ['client', 'server', 80],
          ['ops-client', 'server', 80],
          ['ops-admin', 'server', 80],
          ['guest-client', 'server', 80],
        ],
      ),
    ).toEqual(['server', 'timeout', 'timeout', 'server']);
  });

  it('a numeric port lets only that port through', async () => {
    const p = policy('port-80', { podSelector: server, ingress: [{ ports: [{ port: 80 }] }] });
    expect(
      await outcomes(
        [p],
        [
          ['client', 'server', 80],
          ['client', 'server', 81],
        ],
      ),
    ).toEqual(['server', 'timeout']);
  });

  it("a named port is the selected pod's port of that name", async () => {
    const p = policy('http', { podSelector: server, ingress: [{ ports: [{ port: 'http' }] }] });
    expect(
      await outcomes(
        [p],
        [
          ['client', 'server', 8080],
          ['client', 'server', 80],
          ['client', 'server', 9000],
        ],
      ),
    ).toEqual(['server', 'timeout', 'timeout']);
  });

  it('endPort opens a range of ports', async () => {
    const p = policy('range', {
      podSelector: server,
      ingress: [{ ports: [{ port: 9000, endPort: 9001 }] }],
    });
    expect(
      await outcomes(
        [p],
        [
          ['client', 'server', 9000],
          ['client', 'server', 9001],
          ['client', 'server', 9002],
          ['client', 'server', 80],
        ],
      ),
    ).toEqual(['server', 'server', 'timeout', 'timeout']);
  });

  it('deny-all egress stops new connections out while replies to connections in still pass', async () => {
    const p = policy('no-egress', {
      podSelector: { matchLabels: { app: 'client' } },
      policyTypes: ['Egress'],
    });
    expect(
      await outcomes(
        [p],
        [
          ['client', 'server', 80],
          ['client', 'other', 80],
          // Connections to the client: its answers are replies (established), not new egress.
          ['server', 'client', 80],
          ['ops-client', 'server', 80],
        ],
      ),
    ).toEqual(['timeout', 'timeout', 'client', 'server']);
    expect(await lab.counter('inet vmplane-netpol', 'dropped egress web/client')).toBeGreaterThan(
      0,
    );
  });

  it('an egress rule with a named port reaches that port on the destination pods', async () => {
    const p = policy('egress-http', {
      podSelector: { matchLabels: { app: 'client' } },
      policyTypes: ['Egress'],
      egress: [{ to: [{ podSelector: {} }], ports: [{ port: 'http' }] }],
    });
    expect(
      await outcomes(
        [p],
        [
          ['client', 'server', 8080],
          ['client', 'server', 80],
          // "other" names port 80 http.
          ['client', 'other', 80],
          ['client', 'other', 8080],
        ],
      ),
    ).toEqual(['server', 'timeout', 'other', 'timeout']);
  });

  it('egress to an ipBlock and ingress on the far side must both allow', async () => {
    const egress = policy('egress-block', {
      podSelector: { matchLabels: { app: 'client' } },
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '10.244.0.8/29' } }] }],
    });
    const ingress = policy('server-80', {
      podSelector: server,
      ingress: [{ ports: [{ port: 80 }] }],
    });
    expect(
      await outcomes(
        [egress, ingress],
        [
          ['client', 'server', 80],
          ['client', 'server', 81],
          ['client', 'ops-admin', 80],
        ],
      ),
    ).toEqual(['server', 'timeout', 'timeout']);
  });
});

describe('Service translation in the same node namespace', () => {
  const svc = (
    name: string,
    ports: ServicePort[],
    type = 'ClusterIP',
    clusterIP = '10.0.0.10',
  ) => ({
    metadata: { namespace: 'web', name },
    spec: { type, clusterIP, ports },
  });
  const slice = (name: string, ips: string[], port: number) => ({
    metadata: { namespace: 'web', labels: { 'kubernetes.io/service-name': name } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port, protocol: 'TCP' as const }],
    endpoints: ips.map((a) => ({ addresses: [a], conditions: { ready: true } })),
  });

  const lb = svc(
    'lb',
    [{ name: 'http', port: 8000, nodePort: 30081 }],
    'LoadBalancer',
    '10.0.0.13',
  );
  const given = allocateLoadBalancers([lb], parsePool(LB_POOL)).get('web/lb');
  const lbIP = given && 'ip' in given ? given.ip : '';

  beforeAll(async () => {
    await lab.nft(networkPolicyRules([], PODS, NAMESPACES));
    for (const argv of serviceRoutes('10.0.0.0/24', LB_POOL)) await lab.node(argv.join(' '));
    await lab.nft(
      serviceRules(
        [
          svc('both', [{ name: 'http', port: 80 }]),
          svc('one', [{ name: 'http', port: 80, nodePort: 30080 }], 'NodePort', '10.0.0.11'),
          svc('none', [{ name: 'http', port: 80 }], 'ClusterIP', '10.0.0.12'),
          { ...lb, status: { loadBalancer: { ingress: [{ ip: lbIP }] } } },
        ],
        [
          slice('both', [ip('server'), ip('other')], 8080),
          slice('one', [ip('server')], 8080),
          slice('none', [], 8080),
          slice('lb', [ip('other')], 80),
        ],
        lab.nodeIP,
      ),
    );
  });

  it('a ClusterIP reaches every ready endpoint, from pods and from the node', async () => {
    const got = await Promise.all(
      Array.from({ length: 24 }, (_, i) => lab.connect(i % 2 ? 'client' : 'node', '10.0.0.10', 80)),
    );
    expect(new Set(got)).toEqual(new Set(['server', 'other']));
  });

  it('a NodePort answers at the node address; a pod reaches itself through its service (hairpin)', async () => {
    expect(await lab.connect('client', lab.nodeIP, 30080)).toBe('server');
    expect(await lab.connect('server', '10.0.0.11', 80)).toBe('server');
  });

  it('a LoadBalancer answers at its address from the pool, at its ClusterIP and at its NodePort', async () => {
    expect(lbIP).toBe('10.244.255.1');
    expect(await lab.connect('client', lbIP, 8000)).toBe('other');
    expect(await lab.connect('node', lbIP, 8000)).toBe('other');
    expect(await lab.connect('server', '10.0.0.13', 8000)).toBe('other');
    expect(await lab.connect('server', lab.nodeIP, 30081)).toBe('other');
  });

  it('a service without ready endpoints refuses at once', async () => {
    expect(await lab.connect('client', '10.0.0.12', 80)).toBe('refused');
  });

  it('NetworkPolicy applies behind the ClusterIP: deny-all cuts it, an allow on the target port opens it', async () => {
    await lab.nft(networkPolicyRules([policy('deny', { podSelector: server })], PODS, NAMESPACES));
    expect(await lab.connect('client', '10.0.0.11', 80)).toBe('timeout');
    const allow = policy('http', { podSelector: server, ingress: [{ ports: [{ port: 8080 }] }] });
    await lab.nft(networkPolicyRules([allow], PODS, NAMESPACES));
    expect(await lab.connect('client', '10.0.0.11', 80)).toBe('server');
  });
});
