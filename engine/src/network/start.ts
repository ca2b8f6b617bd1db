// The engine's node network at start (I/O): a namespace of its own where this machine lets it make
// user namespaces (probed once), else QEMU's user-mode network, said in one line with what is lost.
import { probeUserNamespaces } from './holder.ts';
import { NamespaceNetwork } from './namespace-network.ts';
import type { NodeNetwork } from './node-network.ts';
import { NODE_IP, POD_CIDR } from './plan.ts';

/** What `npm start` says when it falls back to user-mode networking. */
export const USER_MODE_LINE =
  'node network: user namespaces are refused here, so VMs get QEMU user-mode networking (each VM alone: no VM-to-VM traffic, no services, no NetworkPolicy, no L2 networks); to get them: sysctl -w kernel.unprivileged_userns_clone=1 and sysctl -w user.max_user_namespaces=15000';

/** The fallback: no namespace; port-forward goes through loopback ports QEMU forwards. */
export function userModeNetwork(why: string): NodeNetwork {
  const refused = (): Promise<never> =>
    Promise.reject(new Error(`the engine runs on QEMU's user-mode network (${why})`));
  return {
    mode: 'user-mode',
    nodeIP: NODE_IP,
    podCIDR: POD_CIDR,
    exec: () => Promise.resolve({ code: 1, stdout: '', stderr: `user-mode network: ${why}` }),
    nft: refused,
    connect: refused,
    connectGuest: refused,
  };
}

export interface StartedNetwork {
  network: NodeNetwork;
  stop(): void;
}

/** The node network in `dir`: a namespace when user namespaces work, else user-mode. */
export async function startNodeNetwork(
  dir: string,
  log: (line: string) => void,
): Promise<StartedNetwork> {
  const refused = await probeUserNamespaces();
  if (refused) {
    log(USER_MODE_LINE);
    return { network: userModeNetwork(refused), stop: () => undefined };
  }
  const network = await NamespaceNetwork.start(dir);
  return { network, stop: () => network.stop() };
}
