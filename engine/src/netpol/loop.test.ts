import { describe, expect, it } from 'vitest';
import { currentRules, podInfo } from './loop.ts';

const launcher = {
  metadata: {
    namespace: 'a',
    name: 'virt-launcher-web-x1',
    labels: { 'kubevirt.io': 'virt-launcher', 'vm.kubevirt.io/name': 'web' },
  },
  status: {
    phase: 'Running',
    podIP: '10.244.0.2',
    podIPs: [{ ip: '10.244.0.2' }, { ip: 'fd00::2' }],
  },
};
const vmi = {
  metadata: { namespace: 'a', name: 'web', labels: { app: 'web' } },
  spec: {
    domain: { devices: { interfaces: [{ ports: [{ name: 'http', port: 80 }, { port: 22 }] }] } },
  },
};

describe('podInfo', () => {
  it("takes the VMI's labels and declared ports (KubeVirt's compute container ports) and IPv4 addresses", () => {
    expect(podInfo(launcher, vmi)).toEqual({
      namespace: 'a',
      name: 'virt-launcher-web-x1',
      labels: { app: 'web', 'kubevirt.io': 'virt-launcher', 'vm.kubevirt.io/name': 'web' },
      ips: ['10.244.0.2'],
      ports: [
        { name: 'http', port: 80, protocol: 'TCP' },
        { port: 22, protocol: 'TCP' },
      ],
    });
  });
  it('a finished pod has no address', () => {
    expect(
      podInfo({ ...launcher, status: { ...launcher.status, phase: 'Succeeded' } }, vmi).ips,
    ).toEqual([]);
  });
});

describe('currentRules', () => {
  it('selects a VM by its labels through its launcher pod and resolves its named port', () => {
    const policy = {
      metadata: { namespace: 'a', name: 'http-only' },
      spec: {
        podSelector: { matchLabels: { app: 'web' } },
        ingress: [{ ports: [{ port: 'http' }] }],
      },
    };
    const r = currentRules([policy], [launcher], [{ metadata: { name: 'a' } }], [vmi]);
    expect(r).toMatch(/ip daddr vmap \{ 10\.244\.0\.2 : jump in-\w+ \}/);
    expect(r).toContain('meta l4proto tcp th dport 80 return');
  });
});
