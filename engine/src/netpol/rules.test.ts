import { describe, expect, it } from 'vitest';
import {
  networkPolicyRules,
  policyTypes,
  ruleMatches,
  type NetworkPolicy,
  type PodInfo,
} from './rules.ts';

const pod = (
  ns: string,
  name: string,
  ip: string,
  labels: Record<string, string>,
  ports: PodInfo['ports'] = [],
): PodInfo => ({
  namespace: ns,
  name,
  labels,
  ips: ip ? [ip] : [],
  ports,
});
const web = pod('a', 'web', '10.244.0.2', { app: 'web' }, [
  { name: 'http', port: 8080, protocol: 'TCP' },
]);
const cli = pod('a', 'cli', '10.244.0.3', { app: 'cli' });
const far = pod('b', 'far', '10.244.0.4', { app: 'cli' }, [
  { name: 'http', port: 80, protocol: 'TCP' },
]);
const noIp = pod('a', 'pending', '', { app: 'web' });
const PODS = [web, cli, far, noIp];
const NS = [
  { name: 'a', labels: { t: 'a' } },
  { name: 'b', labels: { t: 'b' } },
];
const ctx = { policyNs: 'a', pods: PODS, namespaces: NS };
const pol = (spec: NetworkPolicy['spec']): NetworkPolicy => ({
  metadata: { namespace: 'a', name: 'p' },
  spec,
});

describe('policyTypes', () => {
  it('defaults to Ingress, plus Egress when egress rules are given', () => {
    expect(policyTypes(pol({ podSelector: {} }))).toEqual(['Ingress']);
    expect(policyTypes(pol({ podSelector: {}, egress: [] }))).toEqual(['Ingress', 'Egress']);
    expect(policyTypes(pol({ podSelector: {}, policyTypes: ['Egress'] }))).toEqual(['Egress']);
  });
});

describe('ruleMatches', () => {
  it('an empty rule allows everything; no peers means every source', () => {
    expect(ruleMatches('Ingress', {}, 'f', web, ctx)).toEqual(['']);
    expect(ruleMatches('Ingress', { ports: [{ port: 80 }] }, 'f', web, ctx)).toEqual([
      'meta l4proto tcp th dport 80',
    ]);
  });
  it('a podSelector stays in the policy namespace; a namespaceSelector spans namespaces; both intersect', () => {
    const sel = { matchLabels: { app: 'cli' } };
    expect(ruleMatches('Ingress', { from: [{ podSelector: sel }] }, 'f', web, ctx)).toEqual([
      'ip saddr 10.244.0.3',
    ]);
    expect(ruleMatches('Ingress', { from: [{ namespaceSelector: {} }] }, 'f', web, ctx)).toEqual([
      'ip saddr { 10.244.0.2, 10.244.0.3, 10.244.0.4 }',
    ]);
    expect(
      ruleMatches(
        'Ingress',
        { from: [{ namespaceSelector: { matchLabels: { t: 'b' } }, podSelector: sel }] },
        'f',
        web,
        ctx,
      ),
    ).toEqual(['ip saddr 10.244.0.4']);
  });
  it('a peer that selects no pod with an address matches nothing', () => {
    expect(
      ruleMatches(
        'Ingress',
        { from: [{ podSelector: { matchLabels: { app: 'none' } } }] },
        'f',
        web,
        ctx,
      ),
    ).toEqual([]);
  });
  it('an ipBlock with excepts, a port range, a protocol without port', () => {
    expect(
      ruleMatches(
        'Ingress',
        {
          from: [
            { ipBlock: { cidr: '10.244.0.5/16', except: ['10.244.1.0/24', '10.244.2.0/24'] } },
          ],
          ports: [{ port: 9000, endPort: 9010 }, { protocol: 'UDP' }],
        },
        'f',
        web,
        ctx,
      ),
    ).toEqual([
      'ip saddr 10.244.0.0/16 ip saddr != { 10.244.1.0/24, 10.244.2.0/24 } meta l4proto tcp th dport 9000-9010',
      'ip saddr 10.244.0.0/16 ip saddr != { 10.244.1.0/24, 10.244.2.0/24 } meta l4proto udp',
    ]);
  });
  it("a named port is the target's on ingress and each destination's on egress", () => {
    expect(ruleMatches('Ingress', { ports: [{ port: 'http' }] }, 'f', web, ctx)).toEqual([
      'meta l4proto tcp th dport 8080',
    ]);
    expect(ruleMatches('Ingress', { ports: [{ port: 'http' }] }, 'f', cli, ctx)).toEqual([]);
    expect(
      ruleMatches('Ingress', { ports: [{ port: 'http', protocol: 'UDP' }] }, 'f', web, ctx),
    ).toEqual([]);
    expect(ruleMatches('Egress', { ports: [{ port: 'http' }] }, 'f', cli, ctx)).toEqual([
      'ip daddr 10.244.0.2 meta l4proto tcp th dport 8080',
      'ip daddr 10.244.0.4 meta l4proto tcp th dport 80',
    ]);
    expect(
      ruleMatches(
        'Egress',
        { to: [{ ipBlock: { cidr: '10.244.0.4/32' } }], ports: [{ port: 'http' }] },
        'f',
        cli,
        ctx,
      ),
    ).toEqual(['ip daddr 10.244.0.4 meta l4proto tcp th dport 80']);
  });
  it('names the field and value of a bad CIDR', () => {
    expect(() =>
      ruleMatches(
        'Ingress',
        { from: [{ ipBlock: { cidr: '10.0.0.0/40' } }] },
        'NetworkPolicy a/p spec.ingress[0]',
        web,
        ctx,
      ),
    ).toThrow(
      'NetworkPolicy a/p spec.ingress[0].from[0].ipBlock.cidr: "10.0.0.0/40" is not accepted: an IPv4 CIDR such as 10.0.0.0/8',
    );
  });
});

describe('networkPolicyRules', () => {
  it('without policies: one forward chain that accepts everything', () => {
    const r = networkPolicyRules([], PODS, NS);
    expect(r).toContain('ct state established,related accept');
    expect(r).not.toContain('vmap');
  });
  it('isolates only the selected pods, per direction, with a counted drop', () => {
    const r = networkPolicyRules(
      [
        pol({
          podSelector: { matchLabels: { app: 'web' } },
          ingress: [{ from: [{ podSelector: {} }] }],
        }),
      ],
      PODS,
      NS,
    );
    expect(r).toMatch(/ip daddr vmap \{ 10\.244\.0\.2 : jump in-\w+ \}/);
    expect(r).not.toContain('ip saddr vmap');
    expect(r).toContain('ip saddr { 10.244.0.2, 10.244.0.3 } return');
    expect(r).toContain('counter drop comment "dropped ingress a/web"');
  });
  it('a deny-all egress policy gives a chain that drops all and allows nothing', () => {
    const r = networkPolicyRules([pol({ podSelector: {}, policyTypes: ['Egress'] })], PODS, NS);
    expect(r).toMatch(
      /ip saddr vmap \{ 10\.244\.0\.2 : jump eg-\w+, 10\.244\.0\.3 : jump eg-\w+ \}/,
    );
    expect(r).not.toContain('return');
    expect(r.match(/counter drop/g)?.length).toBe(2);
  });
  it('rules of several policies add up in one chain', () => {
    const r = networkPolicyRules(
      [
        pol({ podSelector: {}, ingress: [{ ports: [{ port: 80 }] }] }),
        {
          ...pol({ podSelector: {}, ingress: [{ ports: [{ port: 443 }] }] }),
          metadata: { namespace: 'a', name: 'q' },
        },
      ],
      [web],
      NS,
    );
    expect(r).toContain('meta l4proto tcp th dport 80 return');
    expect(r).toContain('meta l4proto tcp th dport 443 return');
    expect(r.match(/chain in-/g)?.length).toBe(1);
  });
});
