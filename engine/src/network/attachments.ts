// Which networks a VMI's cards sit on (pure): each interface of spec.domain.devices.interfaces
// with the spec.networks entry of its name: the pod network (KubeVirt's masquerade binding) or a
// Multus network (an L2 bridge; KubeVirt's bridge binding), its MAC and its tap in the pod.
import { cloudInitPlan } from '../cloud-init-volume.ts';
import { noCloudData } from '../cloud-init-seed.ts';
import type { KvVmi } from '../engine-context.ts';
import { macFor } from '../volumes.ts';
import { pinsFromNetworkData, type Pin } from './l2-config.ts';

export interface Attachment {
  /** The interface's name (spec.domain.devices.interfaces[].name). */
  name: string;
  mac: string;
  /** QEMU's tap in the pod's namespace (tap0, tap1, ...: one per card, in the spec's order). */
  tap: string;
  bootable: boolean;
  network: { kind: 'pod' } | { kind: 'multus'; networkName: string };
}

interface SpecNetwork {
  name: string;
  pod?: object;
  multus?: { networkName?: string };
}

/** The instance's cards in order, or an Error naming the interface without a network it can play. */
export function attachmentsOf(vmi: KvVmi): Attachment[] | Error {
  const cards = vmi.spec.domain?.devices?.interfaces ?? [];
  const networks = (vmi.spec.networks ?? []) as SpecNetwork[];
  const out: Attachment[] = [];
  for (const [i, card] of cards.entries()) {
    const net = networks.find((n) => n.name === card.name);
    const where = `spec.domain.devices.interfaces[${i}] (${card.name})`;
    let network: Attachment['network'];
    if (net?.pod) network = { kind: 'pod' };
    else if (net?.multus?.networkName)
      network = { kind: 'multus', networkName: net.multus.networkName };
    else
      return new Error(
        `${where}: no spec.networks entry with a pod or multus network of that name; the local engine plays those two`,
      );
    out.push({
      name: card.name,
      mac: (card.macAddress || macFor(vmi.metadata?.uid ?? '', i)).toLowerCase(),
      tap: `tap${i}`,
      bootable: !!card.bootOrder,
      network,
    });
  }
  return out;
}

/**
 * The addresses the instance's cloud-init network data pins to MACs (inline or base64 data; data
 * in a Secret is not read here: such cards get a range address from the segment's server).
 */
export function pinsOf(vmi: KvVmi): Pin[] {
  const planned = cloudInitPlan(vmi);
  if (!planned.ok || !planned.plan) return [];
  try {
    return pinsFromNetworkData(noCloudData(planned.plan.volume, planned.plan.source).networkData);
  } catch {
    return [];
  }
}
