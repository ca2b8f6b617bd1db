// Address admission on a webhook replica cut off from the API server (a blackhole: nothing passes,
// nothing closes). A VM on the pod network alone still gets a MAC from vmplane's range, handed out
// unclaimed within the short deadline (masquerade keeps it inside the VM's pod) and said so in the
// decision log's notes; an interface on a Network is never handed anything unclaimed: its
// admission fails. With the link back, the same VM's MAC is claimed as usual.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VirtualMachine } from '../../api/generated/types.ts';
import { NetworkAddressLabels } from '../../api/src/v1alpha1/network.ts';
import { API_VERSION } from '../../api/src/wellknown.ts';
import { MAC_PREFIX, macClaimName } from '../../decisions/src/network-pool.ts';
import { getLive } from '../../kube/src/ownership.ts';
import { KubeRest } from '../../kube/src/rest.ts';
import type { AdmissionRequest } from '../../webhooks/src/admission.ts';
import { NetworkAddresses, POD_CLAIM_DEADLINE_MS } from '../../webhooks/src/network-addresses.ts';
import { BlackholeProxy, kubeConfigThrough } from '../support/blackhole.ts';
import { createNamespace, kubeConfig } from '../support/cluster.ts';

const sfx = randomBytes(3).toString('hex');
let ns = '';
let hole: BlackholeProxy;
let direct: KubeRest;
let cut: KubeRest;
let addresses: NetworkAddresses;

function vm(name: string, network?: string): VirtualMachine {
  return {
    apiVersion: API_VERSION,
    kind: 'VirtualMachine',
    metadata: { name, namespace: ns },
    spec: {
      network: {
        interfaces: [{ name: 'default' }, ...(network ? [{ name: 'nic1', network }] : [])],
      },
    },
  } as unknown as VirtualMachine;
}

function create(obj: VirtualMachine): AdmissionRequest {
  return {
    uid: randomBytes(8).toString('hex'),
    kind: { group: 'vmplane.io', version: 'v1alpha1', kind: 'VirtualMachine' },
    name: obj.metadata?.name,
    namespace: ns,
    operation: 'CREATE',
    object: obj as unknown as Record<string, unknown>,
  };
}

beforeAll(async () => {
  ns = await createNamespace('addrcut');
  direct = new KubeRest(kubeConfig());
  const apiPort = Number(new URL(kubeConfig().getCurrentCluster()?.server ?? '').port);
  hole = new BlackholeProxy('127.0.0.1', apiPort);
  const port = await hole.start();
  // Both clients of this replica go through the hole; the long one fails after 3 s here, not 30.
  const kc = kubeConfigThrough(port);
  cut = new KubeRest(kc, { timeoutMs: 3000 });
  addresses = new NetworkAddresses(cut);
}, 60_000);

afterAll(async () => {
  cut?.close();
  await hole?.stop();
  if (direct) {
    const { body } = await direct.request<{ items: { metadata: { name: string } }[] }>(
      'GET',
      `/apis/${API_VERSION}/networkaddresses?labelSelector=${encodeURIComponent(`${NetworkAddressLabels.vmNamespace}=${ns}`)}`,
    );
    for (const c of body.items)
      await direct
        .request('DELETE', `/apis/${API_VERSION}/networkaddresses/${c.metadata.name}`)
        .catch(() => undefined);
    await direct.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
    direct.close();
  }
});

describe('address admission cut off from the API server', () => {
  it('hands a pod-network VM an unclaimed MAC from the range once the deadline passes', async () => {
    hole.blackholed = true;
    const obj = vm(`pod-${sfx}`);
    const r = await addresses.assign(create(obj), obj, {});
    const mac = obj.spec.network?.interfaces?.[0]?.macAddress ?? '';
    expect(r.denial).toBeUndefined();
    expect(mac.startsWith(`${MAC_PREFIX}:`)).toBe(true);
    // The short deadline gave up, not the 3 s one of this replica's other calls.
    expect(r.notes).toEqual([
      expect.stringMatching(
        new RegExp(
          `^interface default: MAC ${mac} handed out unclaimed on the pod network \\(.*no complete answer from the API server in ${POD_CLAIM_DEADLINE_MS / 1000} s\\)$`,
        ),
      ),
    ]);
    hole.blackholed = false;
    expect(
      await getLive(direct, `/apis/${API_VERSION}/networkaddresses/${macClaimName(mac)}`),
    ).toBe(undefined);
  }, 30_000);

  it('fails the admission of a VM with an interface on a Network instead', async () => {
    hole.blackholed = true;
    const obj = vm(`l2-${sfx}`, `lab-${sfx}`);
    const err = await addresses.assign(create(obj), obj, {}).then(
      () => 'admitted',
      (e: Error) => e.message,
    );
    hole.blackholed = false;
    expect(err).toMatch(/no complete answer from the API server in 3 s/);
    expect(obj.spec.network?.interfaces?.every((i) => !i.macAddress)).toBe(true);
  }, 30_000);

  it('claims the MAC as usual once the link is back', async () => {
    hole.blackholed = false;
    const obj = vm(`back-${sfx}`);
    const r = await addresses.assign(create(obj), obj, {});
    const mac = obj.spec.network?.interfaces?.[0]?.macAddress ?? '';
    expect(r).toEqual({ notes: [] });
    const claim = await getLive<{ spec: { kind: string; address: string; vm: object } }>(
      direct,
      `/apis/${API_VERSION}/networkaddresses/${macClaimName(mac)}`,
    );
    expect(claim?.spec).toEqual({
      kind: 'MAC',
      address: mac,
      vm: { namespace: ns, name: `back-${sfx}`, interface: 'default' },
    });
  }, 30_000);
});
