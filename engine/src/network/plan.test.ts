import { describe, expect, it } from 'vitest';
import {
  dnsmasqArgs,
  l2PodSide,
  leasedAddress,
  masqueradeRuleset,
  nodeRuleset,
  nodeSetup,
  podHostSide,
  podSide,
} from './plan.ts';

describe('the node network plan', () => {
  it('gives the node its address and forwarding, and no default route', () => {
    const cmds = nodeSetup().map((c) => c.join(' '));
    expect(cmds).toContain('ip addr add 10.244.0.1/32 dev lo');
    expect(cmds).toContain('sysctl -qw net.ipv4.ip_forward=1');
    expect(cmds.some((c) => c.includes('default'))).toBe(false);
  });

  it('drops with counters whatever is not for the pod, service, load-balancer and L2 ranges', () => {
    const rules = nodeRuleset(['192.168.77.0/24']);
    expect(rules).toContain(
      'elements = { 10.244.0.0/24, 10.0.0.0/24, 10.244.255.0/24, 192.168.77.0/24 }',
    );
    expect(rules).toContain('ip daddr != @allowed counter name isolation drop');
    expect(rules).toContain('type filter hook forward priority 0; policy drop;');
  });

  it('routes a pod by its /32 on the node, and only to the node from the pod', () => {
    const l = { hostLink: 'vpabc', podIP: '10.244.0.5', tap: 'tap0' };
    expect(podHostSide(l, 42).map((c) => c.join(' '))).toEqual([
      'ip link add vpabc type veth peer name eth0 netns 42',
      'sysctl -qw net.ipv4.conf.vpabc.proxy_arp=1',
      'ip link set vpabc up',
      'ip route add 10.244.0.5/32 dev vpabc scope link',
    ]);
    const pod = podSide(l).map((c) => c.join(' '));
    expect(pod).toContain('ip route add default via 169.254.1.1 dev eth0 onlink');
    expect(pod).toContain('ip addr add 10.0.2.1/24 dev k6t-eth0');
    expect(podSide({ hostLink: 'x', podIP: '10.244.0.5' }).join(' ')).not.toContain('k6t-eth0');
  });

  it("forwards the pod IP to the guest and the guest's traffic out as the pod IP", () => {
    const r = masqueradeRuleset('10.244.0.5');
    expect(r).toContain('iifname "eth0" ip daddr 10.244.0.5 counter dnat to 10.0.2.2');
    expect(r).toContain('ip saddr 10.0.2.2 oifname "eth0" counter snat to 10.244.0.5');
  });

  it("puts an L2 card's pod link and tap on one bridge (KubeVirt's bridge binding)", () => {
    const cmds = l2PodSide({ bridge: 'br', hostLink: 'vl1', podLink: 'net2', tap: 'tap1' });
    expect(cmds.map((c) => c.join(' '))).toContain('ip link set tap1 master k6t-net2 up');
  });

  it('runs dnsmasq as one interface’s DHCP server, without DNS and without changing user', () => {
    const a = dnsmasqArgs({ iface: 'br', range: 'r', leaseFile: '/l', hostsFile: '/h' });
    expect(a).toEqual(
      expect.arrayContaining([
        '--port=0',
        '--interface=br',
        '--dhcp-hostsfile=/h',
        '--user=',
        '--dhcp-option=option:router',
      ]),
    );
  });

  it('reads the address leased to a MAC, ignoring leases from before the guest started', () => {
    const leases = '1700003600 02:00:00:00:00:01 192.168.77.10 tiny *\n';
    expect(leasedAddress(leases, '02:00:00:00:00:01')).toBe('192.168.77.10');
    expect(leasedAddress(leases, '02:00:00:00:00:01', 1700000000)).toBe('192.168.77.10');
    expect(leasedAddress(leases, '02:00:00:00:00:01', 1700000001)).toBeUndefined();
    expect(leasedAddress(leases, '02:00:00:00:00:02')).toBeUndefined();
  });
});
