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

/** How a forwarded connection stands in QEMU (HMP's `info usernet`), by its loopback port. */
export type ForwardState = 'connecting' | 'connected' | 'gone';

/**
 * QEMU accepts the loopback connection before the guest answered; `info usernet` then lists it
 * (source 127.0.0.1:<the forward's port>) as SYN_SENT until the guest answers, in a later TCP state
 * once the guest took it, and not at all once the guest refused it. The forward's own listening
 * line (HOST_FORWARD) is not the connection.
 */
export function forwardState(usernet: string, hostPort: number): ForwardState {
  for (const line of usernet.split(/\r?\n/)) {
    const m = /^\s*TCP\[([A-Z_]+)\]\s+\d+\s+127\.0\.0\.1\s+(\d+)\s/.exec(line);
    if (!m || Number(m[2]) !== hostPort || m[1] === 'HOST_FORWARD') continue;
    return m[1] === 'SYN_SENT' ? 'connecting' : 'connected';
  }
  return 'gone';
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether the guest took the connection QEMU accepted on `hostPort`: asks QEMU until it knows. */
async function guestTook(
  guest: UserModeGuest,
  s: Socket,
  hostPort: number,
  waitMs: number,
): Promise<boolean | 'no answer'> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (s.readableLength > 0) return true;
    if (s.destroyed || s.readableEnded) return false;
    const state = forwardState(await hmp(guest, 'info usernet'), hostPort);
    if (state !== 'connecting') return state === 'connected';
    if (Date.now() > deadline) return 'no answer';
    await sleep(20);
  }
}

/** Opens a forward, connects through it, and removes it. */
export async function forwardOnce(
  guest: UserModeGuest,
  port: number,
  what: string,
  waitMs = 10_000,
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
  socket.on('error', () => undefined);
  const took = await guestTook(guest, socket, host, waitMs).catch(() => false);
  if (took === true) return socket;
  socket.destroy();
  if (took === 'no answer')
    throw new Error(`${what} did not answer on port ${port} in ${waitMs / 1000}s`);
  throw new Error(`${what} refused the connection to port ${port}`);
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
