import { describe, expect, it } from 'vitest';
import { allocateLoadBalancers, LB_POOL, parsePool, type LbService } from './lb-pool.ts';

const lb = (
  name: string,
  created: string,
  o: { had?: string; asked?: string; cls?: string } = {},
): LbService => ({
  metadata: { namespace: 'ns', name, creationTimestamp: created },
  spec: {
    type: 'LoadBalancer',
    ...(o.asked ? { loadBalancerIP: o.asked } : {}),
    ...(o.cls ? { loadBalancerClass: o.cls } : {}),
  },
  ...(o.had ? { status: { loadBalancer: { ingress: [{ ip: o.had }] } } } : {}),
});
const pool = parsePool(LB_POOL);

describe('parsePool', () => {
  it('leaves out the network and broadcast addresses', () => {
    expect(parsePool('10.244.255.0/24')).toEqual(parsePool('10.244.255.77/24'));
    const small = parsePool('192.168.1.0/30');
    expect(small.last - small.first).toBe(1);
  });
  it('names what it accepts', () => {
    expect(() => parsePool('10.244.300.0/24')).toThrow(
      /"10.244.300.0\/24" is not accepted: an IPv4 CIDR from \/16 to \/30/,
    );
  });
});

describe('allocateLoadBalancers', () => {
  it('gives the lowest free addresses, oldest Service first', () => {
    const got = allocateLoadBalancers([lb('b', '2026-01-02'), lb('a', '2026-01-01')], pool);
    expect(got.get('ns/a')).toEqual({ ip: '10.244.255.1' });
    expect(got.get('ns/b')).toEqual({ ip: '10.244.255.2' });
  });
  it('keeps the address a Service has, even against an older newcomer', () => {
    const got = allocateLoadBalancers(
      [lb('old', '2026-01-01'), lb('kept', '2026-01-05', { had: '10.244.255.1' })],
      pool,
    );
    expect(got.get('ns/kept')).toEqual({ ip: '10.244.255.1' });
    expect(got.get('ns/old')).toEqual({ ip: '10.244.255.2' });
  });
  it('gives an asked address when free, and says why not otherwise', () => {
    const got = allocateLoadBalancers(
      [
        lb('a', '2026-01-01', { asked: '10.244.255.9' }),
        lb('b', '2026-01-02', { asked: '10.244.255.9' }),
        lb('c', '2026-01-03', { asked: '192.168.0.1' }),
      ],
      pool,
    );
    expect(got.get('ns/a')).toEqual({ ip: '10.244.255.9' });
    expect(got.get('ns/b')).toEqual({
      error: 'spec.loadBalancerIP 10.244.255.9 is already used by another Service',
    });
    expect(got.get('ns/c')).toEqual({
      error:
        "spec.loadBalancerIP 192.168.0.1 is not in the engine's pool 10.244.255.1-10.244.255.254",
    });
  });
  it('ignores other types and other load balancer classes; says when the pool is exhausted', () => {
    const tiny = parsePool('10.244.255.0/30');
    const other: LbService = {
      metadata: { namespace: 'ns', name: 'c' },
      spec: { type: 'ClusterIP' },
    };
    const got = allocateLoadBalancers(
      [lb('a', '1'), lb('b', '2'), lb('c2', '3'), lb('x', '0', { cls: 'example.com/lb' }), other],
      tiny,
    );
    expect([...got.keys()].sort()).toEqual(['ns/a', 'ns/b', 'ns/c2']);
    expect(got.get('ns/c2')).toEqual({
      error: "no address left in the engine's pool 10.244.255.1-10.244.255.2",
    });
  });
});
