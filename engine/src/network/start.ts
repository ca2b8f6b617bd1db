// The engine's node network at start (I/O): a namespace of its own where this machine lets it make
// user namespaces (probed once), else QEMU's user-mode network, said in one line with what is lost.
import { probeUserNamespaces } from './holder.ts';
import { NamespaceNetwork } from './namespace-network.ts';
import type { NodeNetwork } from './node-network.ts';

/** What `npm start` says when it falls back to user-mode networking. */
export const USER_MODE_LINE =
  'node network: user namespaces are refused here, so VMs get QEMU user-mode networking (each VM alone: no VM-to-VM traffic, no services, no NetworkPolicy, no L2 networks); to get them: sysctl -w kernel.unprivileged_userns_clone=1 and sysctl -w user.max_user_namespaces=15000';

export interface StartedNetwork {
  /** None: the engine falls back to QEMU's user-mode network (network/user-mode.ts). */
  network?: NodeNetwork;
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
    return { stop: () => undefined };
  }
  const network = await NamespaceNetwork.start(dir);
  return { network, stop: () => network.stop() };
}
