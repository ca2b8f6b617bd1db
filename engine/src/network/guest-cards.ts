// virt-handler's part of the node network (I/O): before a guest starts, its launcher pod's
// namespace and cards (the NetworkAttachmentDefinitions its multus networks name are read for
// their bridges); while it runs, the addresses observed on its cards; once it is gone, the pod's
// namespace removed.
import { isNotFound } from '../../../kube/src/rest.ts';
import type { EngineContext, KvVmi } from '../engine-context.ts';
import type { QemuSpec } from '../qemu-args.ts';
import { attachmentsOf, pinsOf } from './attachments.ts';
import { nadBridge, nadRef, type Nad } from './l2-config.ts';
import { NamespaceNetwork, type ObservedInterface } from './namespace-network.ts';

export interface PreparedCards {
  taps: NonNullable<QemuSpec['taps']>;
  inside: (argv: readonly string[]) => string[];
  podIP: string;
}

const namespaceNetwork = (ctx: EngineContext): NamespaceNetwork | undefined =>
  ctx.options.network instanceof NamespaceNetwork ? ctx.options.network : undefined;

const nadPath = (ns: string, name: string): string =>
  `/apis/k8s.cni.cncf.io/v1/namespaces/${ns}/network-attachment-definitions/${name}`;

/** The bridge of each multus network the instance names, or why one cannot be had. */
async function bridgesOf(
  ctx: EngineContext,
  vmi: KvVmi,
  names: string[],
): Promise<Map<string, string> | Error> {
  const out = new Map<string, string>();
  for (const networkName of names) {
    const ref = nadRef(networkName, vmi.metadata?.namespace ?? '');
    const nad = await ctx.manager.rest
      .request<Nad>('GET', nadPath(ref.namespace, ref.name))
      .then((r) => r.body)
      .catch((e: unknown) => {
        if (isNotFound(e) || (e as { code?: number }).code === 404) return undefined;
        throw e;
      });
    if (!nad)
      return new Error(
        `failed to find the network attachment definition ${ref.namespace}/${ref.name} (multus networkName "${networkName}")`,
      );
    const bridge = nadBridge(nad);
    if (bridge instanceof Error) return bridge;
    out.set(networkName, bridge);
  }
  return out;
}

/**
 * The instance's cards on the engine's node network, made now; undefined when the engine has no
 * namespace network (QEMU's user-mode network then); an Error saying what is wrong with the spec.
 */
export async function prepareCards(
  ctx: EngineContext,
  vmi: KvVmi,
  key: string,
): Promise<PreparedCards | Error | undefined> {
  const net = namespaceNetwork(ctx);
  if (!net) return undefined;
  const cards = attachmentsOf(vmi);
  if (cards instanceof Error) return cards;
  const names = cards.flatMap((c) => (c.network.kind === 'multus' ? [c.network.networkName] : []));
  const bridges = await bridgesOf(ctx, vmi, [...new Set(names)]);
  if (bridges instanceof Error) return bridges;
  const pod = await net.attach(key, { key, cards, pins: pinsOf(vmi), bridges });
  return {
    taps: pod.cards.map((c) => ({ ifname: c.tap, mac: c.mac, bootable: c.bootable })),
    inside: pod.inside,
    podIP: pod.podIP,
  };
}

/** The addresses observed on the instance's cards (namespace mode), or undefined. */
export function observedCards(ctx: EngineContext, key: string): ObservedInterface[] | undefined {
  return namespaceNetwork(ctx)?.observe(key);
}

/** The instance's pod namespace removed (its guest is gone). */
export function releaseCards(ctx: EngineContext, key: string): void {
  namespaceNetwork(ctx)?.detach(key);
}

/** A migration's target pod namespace takes the instance's place; the source's goes. */
export function promoteCards(ctx: EngineContext, from: string, to: string): void {
  namespaceNetwork(ctx)?.promote(from, to);
}
