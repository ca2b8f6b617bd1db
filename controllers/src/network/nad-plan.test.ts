import { describe, expect, it } from 'vitest';
import { cniConfig, desiredNad, planNads, type Nad, type NadPlanInput } from './nad-plan.ts';
import type { NetworkLike } from './types.ts';

const net = (spec: NetworkLike['spec'], name = 'vlan-42'): NetworkLike => ({
  metadata: { name, uid: `uid-${name}` },
  spec,
});
const l2 = net({ type: 'L2', l2: { bridge: 'br42', vlanID: 42 }, ipam: { externalDHCP: {} } });
const own = (namespace: string, config = cniConfig(l2)): Nad => ({
  ...desiredNad(l2, namespace),
  metadata: { ...desiredNad(l2, namespace).metadata, uid: `nad-${namespace}` },
  spec: { config },
});
const labels: Record<string, Record<string, string>> = {
  a: { team: 'a' },
  b: { team: 'b' },
  c: { team: 'c' },
};
const input = (o: Partial<NadPlanInput>): NadPlanInput => ({
  name: 'vlan-42',
  network: l2,
  vms: [],
  namespaceLabels: (ns) => labels[ns],
  existing: [],
  ...o,
});

describe('cniConfig', () => {
  it('is the bridge plugin with the VLAN and no IPAM, keys in order', () => {
    expect(cniConfig(l2)).toBe(
      '{"cniVersion":"0.3.1","name":"vlan-42","type":"bridge","bridge":"br42","vlan":42,"ipam":{}}',
    );
  });
  it('leaves vlan out when the network has none, and names the bridge vmp-<name> by default', () => {
    expect(cniConfig(net({ type: 'L2' }, 'lab'))).toBe(
      '{"cniVersion":"0.3.1","name":"lab","type":"bridge","bridge":"vmp-lab","ipam":{}}',
    );
    expect(JSON.parse(cniConfig(net({}, 'a-very-long-network')))).toMatchObject({
      bridge: 'vmp-a-very-long',
    });
  });
});

describe('planNads', () => {
  it('writes one definition per namespace whose VMs use the network, labelled and annotated', () => {
    const plan = planNads(
      input({
        vms: [
          { namespace: 'b', networks: ['vlan-42'] },
          { namespace: 'a', networks: ['other', 'vlan-42'] },
          { namespace: 'a', networks: ['vlan-42'] },
          { namespace: 'c', networks: ['other'] },
        ],
      }),
    );
    expect(plan.write.map((w) => w.desired.metadata.namespace)).toEqual(['a', 'b']);
    expect(plan.write[0]?.desired).toEqual({
      apiVersion: 'k8s.cni.cncf.io/v1',
      kind: 'NetworkAttachmentDefinition',
      metadata: {
        name: 'vlan-42',
        namespace: 'a',
        labels: { 'app.kubernetes.io/managed-by': 'vmplane' },
        annotations: { 'vmplane.io/network': 'vlan-42' },
        ownerReferences: [
          {
            apiVersion: 'vmplane.io/v1alpha1',
            kind: 'Network',
            name: 'vlan-42',
            uid: 'uid-vlan-42',
          },
        ],
      },
      spec: { config: cniConfig(l2) },
    });
    expect(plan.namespaces).toEqual(['a', 'b']);
    expect(plan.remove).toEqual([]);
  });

  it('keeps what is right, updates what differs, removes what is no longer used', () => {
    const plan = planNads(
      input({
        vms: [
          { namespace: 'a', networks: ['vlan-42'] },
          { namespace: 'b', networks: ['vlan-42'] },
        ],
        existing: [own('a'), own('b', '{"old":true}'), own('c')],
      }),
    );
    expect(plan.write).toHaveLength(1);
    expect(plan.write[0]?.current?.metadata.uid).toBe('nad-b');
    expect(plan.remove.map((n) => n.metadata.uid)).toEqual(['nad-c']);
    expect(plan.namespaces).toEqual(['a', 'b']);
  });

  it('removes every definition of a deleted network, or of one that became Pod', () => {
    const existing = [own('a'), own('b')];
    const vms = [{ namespace: 'a', networks: ['vlan-42'] }];
    for (const network of [undefined, net({ type: 'Pod' })]) {
      const plan = planNads(input({ network, vms, existing }));
      expect(plan.write).toEqual([]);
      expect(plan.remove.map((n) => n.metadata.uid)).toEqual(['nad-a', 'nad-b']);
      expect(plan.namespaces).toEqual([]);
    }
  });

  it('never writes over or removes a definition vmplane does not own', () => {
    const foreign: Nad = {
      metadata: { name: 'vlan-42', namespace: 'a', uid: 'theirs', labels: { app: 'x' } },
      spec: { config: '{}' },
    };
    const otherNetwork: Nad = {
      metadata: {
        name: 'vlan-42',
        namespace: 'c',
        uid: 'other',
        labels: { 'app.kubernetes.io/managed-by': 'vmplane' },
        annotations: { 'vmplane.io/network': 'something-else' },
      },
    };
    const plan = planNads(
      input({
        vms: [{ namespace: 'a', networks: ['vlan-42'] }],
        existing: [foreign, otherNetwork],
      }),
    );
    expect(plan.foreign.map((n) => n.metadata.uid)).toEqual(['theirs']);
    expect(plan.write).toEqual([]);
    expect(plan.remove).toEqual([]);
    expect(plan.namespaces).toEqual([]);
  });

  it('follows the namespaceSelector: a namespace it does not admit gets none, and is reported', () => {
    const network = net({ type: 'L2', namespaceSelector: { matchLabels: { team: 'a' } } });
    const plan = planNads(
      input({
        network,
        vms: [
          { namespace: 'a', networks: ['vlan-42'] },
          { namespace: 'b', networks: ['vlan-42'] },
          { namespace: 'gone', networks: ['vlan-42'] },
        ],
      }),
    );
    expect(plan.namespaces).toEqual(['a']);
    expect(plan.refused).toEqual(['b', 'gone']);
  });
});
