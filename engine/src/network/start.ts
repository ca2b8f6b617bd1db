// The engine's node network at start (I/O): a namespace of its own where this machine has the
// tools (dnsmasq, nft) and lets it make user namespaces (probed once), else QEMU's user-mode
// network, said in one line with what is lost and the command that gets it back.
import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  hostVerdict,
  NODE_NETWORK_TOOLS,
  userModeLine,
  withSbin,
  type HostVerdict,
  type UserNamespaceSysctls,
} from './host-check.ts';
import { probeUserNamespaces } from './holder.ts';
import { NamespaceNetwork } from './namespace-network.ts';
import type { NodeNetwork } from './node-network.ts';

export interface StartedNetwork {
  /** None: the engine falls back to QEMU's user-mode network (network/user-mode.ts). */
  network?: NodeNetwork;
  stop(): void;
}

const executable = (file: string): boolean => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** The node network's tools not found on PATH nor in the sbin folders. */
export function missingNetworkTools(path = process.env.PATH): string[] {
  const dirs = withSbin(path).split(':');
  return NODE_NETWORK_TOOLS.map((t) => t.command).filter(
    (c) => !dirs.some((d) => executable(join(d, c))),
  );
}

function readSysctls(): UserNamespaceSysctls {
  const read = (name: string): string | undefined => {
    try {
      return readFileSync(`/proc/sys/${name.replace(/\./g, '/')}`, 'utf8');
    } catch {
      return undefined;
    }
  };
  const out: Record<string, string | undefined> = {};
  for (const k of [
    'kernel.unprivileged_userns_clone',
    'kernel.apparmor_restrict_unprivileged_userns',
    'user.max_user_namespaces',
  ])
    out[k] = read(k);
  return out;
}

/** Whether this machine can have the node network; what it lacks and how to fix it when not. */
export async function checkNodeNetworkHost(): Promise<HostVerdict> {
  const missingTools = missingNetworkTools();
  const refused = missingTools.length ? undefined : await probeUserNamespaces();
  return hostVerdict({
    missingTools,
    ...(refused !== undefined ? { refused } : {}),
    sysctls: readSysctls(),
  });
}

/** The node network in `dir`: a namespace when this machine allows it, else user-mode (one line). */
export async function startNodeNetwork(
  dir: string,
  log: (line: string) => void,
): Promise<StartedNetwork> {
  const verdict = await checkNodeNetworkHost();
  if (!verdict.ok) {
    log(userModeLine(verdict));
    return { stop: () => undefined };
  }
  const network = await NamespaceNetwork.start(dir);
  return { network, stop: () => network.stop() };
}
