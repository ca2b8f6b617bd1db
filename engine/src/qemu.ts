// One QEMU process per running VM: its command line (a pure function), its QMP control socket, its
// serial console and its VNC server, all on Unix sockets in the VM's own folder (no TCP port, no
// address). Its network card sits on QEMU's user-mode network with restrict=on: the guest gets an
// address by DHCP and can reach nothing outside the VM, neither this host nor any other.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { NET_DUMP_ID, qemuArgs, type QemuSpec } from './qemu-args.ts';
import {
  checkPrivateFolder,
  makePrivateFolder,
  makeSocketsPrivate,
  qmpSocket,
  serialSocket,
} from './qemu-folder.ts';

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

export {
  checkPrivateFolder,
  instanceFolder,
  makePrivateFolder,
  qmpSocket,
  serialSocket,
  SUN_PATH_MAX,
  vncSocket,
  type InstanceKey,
} from './qemu-folder.ts';
export { diskNames, NODE_NAME_MAX, type DiskNames, type QemuDisk } from './qemu-disks.ts';
export { parseQemuArgs, type ParsedOption } from './qemu-options.ts';
export {
  AGENT_CHANNEL,
  AGENT_PORT_ID,
  agentSocket,
  GUEST_NETWORK,
  NET_DUMP_ID,
  QEMU_SANDBOX,
  qemuArgs,
  type QemuSpec,
  type SeedDisk,
} from './qemu-args.ts';
export { QEMU_LIMITS, QemuSpecError, type QemuLimits } from './qemu-spec.ts';

/** QMP: one command at a time, answers in order; events are kept apart. */
/** How long a QMP command may take before the engine stops waiting for it. */
const QMP_TIMEOUT_MS = 10_000;
/** The QMP events kept (the latest; older ones are dropped). */
const QMP_EVENTS_KEPT = 100;

/**
 * QMP: one command at a time, answers in order; events are kept apart (the latest few). A command
 * QEMU does not answer within 10 s, or sent once the connection closed, fails: nothing waits on
 * QEMU forever. A late answer still goes to the command it answers.
 */
export class Qmp {
  private buffer = '';
  private closed = false;
  private readonly waiting: {
    resolve: (v: unknown) => void;
    reject: (e: Error) => void;
    done: boolean;
  }[] = [];
  readonly events: { event: string; data?: unknown }[] = [];
  private readonly eventListeners = new Set<(e: { event: string; data?: unknown }) => void>();

  private constructor(private readonly socket: Socket) {
    socket.on('data', (b: Buffer) => {
      this.buffer += b.toString();
      for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        this.received(line);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiting.splice(0)) w.reject(new Error('QMP connection closed'));
    });
  }

  private received(line: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if ('event' in msg) {
      const e = msg as { event: string; data?: unknown };
      this.events.push(e);
      if (this.events.length > QMP_EVENTS_KEPT) this.events.shift();
      for (const l of this.eventListeners) l(e);
      return;
    }
    if ('QMP' in msg) return;
    const w = this.waiting.shift();
    if (!w || w.done) return;
    w.done = true;
    if ('error' in msg) {
      const err = msg.error as { class?: string; desc?: string };
      w.reject(new Error(`QMP ${err.class}: ${err.desc}`));
    } else w.resolve(msg.return);
  }

  static async open(path: string): Promise<Qmp> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(path, () => resolve(s));
      s.once('error', reject);
    });
    const qmp = new Qmp(socket);
    await qmp.execute('qmp_capabilities');
    return qmp;
  }

  /** Calls `listener` with every event QEMU sends from now on (VSERPORT_CHANGE, ...). */
  onEvent(listener: (e: { event: string; data?: unknown }) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  execute<T = unknown>(command: string, args?: object): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`QMP ${command}: the connection is closed`));
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const w = {
        done: false,
        resolve: (v: unknown) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      timer = setTimeout(() => {
        if (w.done) return;
        w.done = true; // its answer, if it comes, is read and dropped
        reject(new Error(`QMP ${command}: no answer from QEMU within ${QMP_TIMEOUT_MS / 1000} s`));
      }, QMP_TIMEOUT_MS);
      timer.unref();
      this.waiting.push(w);
      this.socket.write(
        `${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}) })}\n`,
      );
    });
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

/** What the serial console keeps of the guest's output (the tail; older output is dropped). */
const SERIAL_KEEP = 1 << 20;

/**
 * The serial console: QEMU takes one client on its socket, so the engine holds that connection,
 * keeps the tail of what the guest printed, and passes the bytes on to whoever listens (the
 * console subresource's websocket).
 */
export class Serial {
  output = '';
  private readonly listeners = new Set<(b: Buffer) => void>();
  private constructor(private readonly socket: Socket) {
    socket.on('data', (b: Buffer) => {
      this.output += b.toString('latin1');
      if (this.output.length > SERIAL_KEEP * 2) this.output = this.output.slice(-SERIAL_KEEP);
      for (const l of this.listeners) l(b);
    });
  }

  /** Calls `listener` with every chunk the guest prints from now on; returns how to stop. */
  listen(listener: (b: Buffer) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  static async open(path: string): Promise<Serial> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(path, () => resolve(s));
      s.once('error', reject);
    });
    return new Serial(socket);
  }

  type(text: string | Buffer): void {
    this.socket.write(text);
  }

  /** Resolves once the output (after `from`) matches, or rejects after `timeoutMs`. */
  async waitFor(pattern: RegExp | string, timeoutMs: number, from = 0): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const tail = this.output.slice(from);
      if (typeof pattern === 'string' ? tail.includes(pattern) : pattern.test(tail)) return tail;
      if (Date.now() > deadline)
        throw new Error(
          `the serial console did not show ${String(pattern)} within ${timeoutMs} ms; it showed:\n${tail.slice(-2000)}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Starts QEMU for the spec; the sockets are there once this resolves. */
export async function startQemu(
  s: QemuSpec,
  binary = 'qemu-system-x86_64',
  /** Runs QEMU inside the pod's namespaces (nsenter ... setpriv --pdeathsig KILL -- argv). */
  inside?: (argv: readonly string[]) => string[],
): Promise<{ child: ChildProcess; qmp: Qmp; serial: Serial }> {
  const args = qemuArgs(s);
  makePrivateFolder(s.dir);
  // setpriv --pdeathsig: the kernel kills QEMU if the engine dies, even by SIGKILL.
  const [cmd, argv] = inside
    ? ((a) => [a[0] ?? '', a.slice(1)] as const)(inside([binary, ...args]))
    : SETPRIV
      ? [SETPRIV, ['--pdeathsig', 'KILL', '--', binary, ...args]]
      : [binary, args];
  const child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, sig) =>
      reject(new Error(`QEMU exited (${sig ?? `exit ${code}`}): ${stderr.trim()}`)),
    ),
  );
  exited.catch(() => undefined);
  // Each socket takes one client: a connection that succeeded is kept, never opened twice (a
  // second serial connection would wait behind the first and never see the guest's output).
  const deadline = Date.now() + 10_000;
  let qmp: Qmp | undefined;
  let serial: Serial | undefined;
  for (;;) {
    let opened = false;
    try {
      serial ??= await Promise.race([Serial.open(serialSocket(s.dir)), exited]);
      qmp ??= await Promise.race([Qmp.open(qmpSocket(s.dir)), exited]);
      opened = true;
      // The folder kept them from others all along; now they are the owner's alone as well.
      makeSocketsPrivate(s.dir);
      checkPrivateFolder(s.dir);
      return { child, qmp, serial };
    } catch (e) {
      const over = opened || child.exitCode !== null || child.signalCode !== null;
      if (over || Date.now() > deadline) {
        serial?.close();
        qmp?.close();
        child.kill('SIGKILL');
        throw e;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * Stops recording the network card's traffic (QemuSpec.nic.dumpFile): QMP object-del of the
 * filter-dump object, after which QEMU has closed the file and the caller may remove it.
 */
export async function stopNetDump(qmp: Qmp): Promise<void> {
  await qmp.execute('object-del', { id: NET_DUMP_ID });
}

/**
 * Powers a VM off as KubeVirt does: ACPI power button first, and after the grace period (0 for a
 * Hard power-off) QEMU is told to quit, then killed. Says which way it went.
 */
export async function powerOff(
  vm: { child: ChildProcess; qmp: Qmp },
  graceMs: number,
): Promise<'soft' | 'hard'> {
  const exited = (ms: number): Promise<boolean> =>
    vm.child.exitCode !== null || vm.child.signalCode !== null
      ? Promise.resolve(true)
      : new Promise((resolve) => {
          const timer = setTimeout(() => resolve(false), ms);
          vm.child.once('exit', () => {
            clearTimeout(timer);
            resolve(true);
          });
        });
  if (graceMs > 0) {
    await vm.qmp.execute('system_powerdown').catch(() => undefined);
    if (await exited(graceMs)) return 'soft';
  }
  await vm.qmp.execute('quit').catch(() => undefined);
  if (!(await exited(5_000))) {
    vm.child.kill('SIGKILL');
    await exited(5_000);
  }
  return 'hard';
}
