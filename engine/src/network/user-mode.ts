// The fallback node network, where user namespaces are refused: each guest alone on QEMU's
// user-mode network (restrict=on: it reaches nothing), reachable only through a loopback port QEMU
// forwards for one connection. connectGuest asks QEMU (HMP's hostfwd_add, through QMP's
// human-monitor-command) for a forward from a free 127.0.0.1 port to the guest's port, connects,
// and removes the forward at once: the connection made stays, nobody else can use the port. There
// is no node namespace, so nothing can run in it and no nftables can be loaded: services and
// NetworkPolicy are not enforced in this mode.
import { createServer, connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ExecResult, NodeNetwork } from './node-network.ts';

/** QEMU's id of the guest's user-mode network (engine/src/qemu-args.ts nicArgs). */
export const USER_NETDEV = 'net0';

/** What the fallback needs of a running guest: its QMP connection, while its process lives. */
export interface UserModeGuest {
  qmp: { execute<T = unknown>(command: string, args?: object): Promise<T> };
  alive(): boolean;
}

const LOST =
  'the local engine runs its VMs on QEMU user-mode networking (user namespaces are refused here): there is no node network';

/** A free loopback port (the kernel's pick; freed again for QEMU to take). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

async function hmp(guest: UserModeGuest, command: string): Promise<string> {
  return guest.qmp.execute<string>('human-monitor-command', { 'command-line': command });
}

/** A TCP connection to 127.0.0.1:port, or the error that prevented it. */
function dial(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/**
 * QEMU accepts the loopback connection before the guest answered; a guest that refuses closes it
 * at once. Whether the guest took it: data came or the connection held for `settleMs`.
 */
export function guestAccepted(s: Socket, settleMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (v: boolean): void => {
      clearTimeout(timer);
      s.off('readable', onReadable);
      s.off('close', onClose);
      resolve(v);
    };
    const onReadable = (): void => done(s.readableLength > 0);
    const onClose = (): void => done(false);
    const timer = setTimeout(() => done(true), settleMs);
    s.on('readable', onReadable);
    s.once('close', onClose);
  });
}

/** Opens a forward, connects through it, and removes it. */
export async function forwardOnce(
  guest: UserModeGuest,
  port: number,
  what: string,
  settleMs = 300,
): Promise<Duplex> {
  const host = await freePort();
  const rule = `tcp:127.0.0.1:${host}`;
  const said = await hmp(guest, `hostfwd_add ${USER_NETDEV} ${rule}-:${port}`);
  if (said.trim()) throw new Error(`QEMU could not forward a port to ${what}: ${said.trim()}`);
  let socket: Socket | undefined;
  try {
    socket = await dial(host);
  } finally {
    await hmp(guest, `hostfwd_remove ${USER_NETDEV} ${rule}`).catch(() => undefined);
  }
  if (!(await guestAccepted(socket, settleMs))) {
    socket.destroy();
    throw new Error(`${what} refused the connection to port ${port}`);
  }
  return socket;
}

/** The fallback NodeNetwork over the engine's running guests, by namespace/name. */
export function userModeNetwork(guests: (key: string) => UserModeGuest | undefined): NodeNetwork {
  const refuse = (what: string): Promise<never> => Promise.reject(new Error(`${LOST} to ${what}`));
  return {
    mode: 'user-mode',
    nodeIP: '',
    podCIDR: '',
    exec: (argv): Promise<ExecResult> => refuse(`run ${argv.join(' ')} in`),
    nft: () => refuse('load nftables rules (Services and NetworkPolicy are not enforced) in'),
    connect: (ip, port) => refuse(`connect to ${ip}:${port} from`),
    async connectGuest(vmi, port) {
      const what = `VMI ${vmi.namespace}/${vmi.name}`;
      const guest = guests(`${vmi.namespace}/${vmi.name}`);
      if (!guest?.alive()) throw new Error(`${what} is not running on this node`);
      return forwardOnce(guest, port, what);
    },
  };
}
