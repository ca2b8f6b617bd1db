// One QEMU process per running VM: its command line (a pure function), its QMP control socket, its
// serial console and its VNC server, all on Unix sockets in the VM's own folder (no TCP port, no
// address). Its network card sits on QEMU's user-mode network with restrict=on: the guest gets an
// address by DHCP and can reach nothing outside the VM, neither this host nor any other.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';

export interface QemuSpec {
  /** The VM's own folder: sockets live here. */
  dir: string;
  memoryMiB: number;
  cpus: number;
  kernel?: string;
  initrd?: string;
  append?: string;
  disks?: { path: string; format: 'qcow2' | 'raw'; readOnly?: boolean }[];
  /** tcg (software, the default) or kvm (only after a probe boot succeeded). */
  accel?: 'tcg' | 'kvm';
  /** A virtio network card with this MAC on an isolated user-mode network; its traffic is
   * recorded to dumpFile (pcap) when given, until the engine removes the recorder (net0dump). */
  nic?: { mac: string; dumpFile?: string; bootable?: boolean };
  /** Start with the guest's CPUs stopped (KubeVirt's startStrategy Paused). */
  paused?: boolean;
  /** A VGA screen, served by QEMU's VNC server on vnc.sock. */
  screen?: boolean;
}

/** The guest's address on the user-mode network: QEMU's DHCP hands out the first one, always. */
export const GUEST_NETWORK = { cidr: '10.0.2.0/24', guestIp: '10.0.2.15' };

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

export const serialSocket = (dir: string): string => join(dir, 'serial.sock');
export const qmpSocket = (dir: string): string => join(dir, 'qmp.sock');
export const vncSocket = (dir: string): string => join(dir, 'vnc.sock');

/** The command line for a VM: no defaults; console, control and screen on Unix sockets. */
export function qemuArgs(s: QemuSpec): string[] {
  return [
    '-nodefaults',
    '-no-user-config',
    '-machine',
    `q35,accel=${s.accel ?? 'tcg'}`,
    '-m',
    `${s.memoryMiB}M`,
    '-smp',
    String(s.cpus),
    '-display',
    'none',
    '-chardev',
    `socket,id=serial0,path=${serialSocket(s.dir)},server=on,wait=off`,
    '-serial',
    'chardev:serial0',
    '-qmp',
    `unix:${qmpSocket(s.dir)},server=on,wait=off`,
    ...(s.screen ? ['-vga', 'std', '-vnc', `unix:${vncSocket(s.dir)}`] : []),
    ...(s.nic
      ? [
          '-netdev',
          `user,id=net0,restrict=on,net=${GUEST_NETWORK.cidr}`,
          '-device',
          // No option ROM unless the card boots (KubeVirt disables it without a bootOrder).
          `virtio-net-pci,netdev=net0,mac=${s.nic.mac}${s.nic.bootable ? '' : ',romfile='}`,
          ...(s.nic.dumpFile
            ? ['-object', `filter-dump,id=net0dump,netdev=net0,file=${s.nic.dumpFile}`]
            : []),
        ]
      : []),
    ...(s.paused ? ['-S'] : []),
    ...(s.kernel ? ['-kernel', s.kernel] : []),
    ...(s.initrd ? ['-initrd', s.initrd] : []),
    ...(s.append ? ['-append', s.append] : []),
    ...(s.disks ?? []).flatMap((d, i) => [
      '-drive',
      `file=${d.path},format=${d.format},if=virtio,index=${i}${d.readOnly ? ',readonly=on' : ''}`,
    ]),
  ];
}

/** QMP: one command at a time, answers in order; events are kept apart. */
export class Qmp {
  private buffer = '';
  private readonly waiting: { resolve: (v: unknown) => void; reject: (e: Error) => void }[] = [];
  readonly events: { event: string; data?: unknown }[] = [];

  private constructor(private readonly socket: Socket) {
    socket.on('data', (b: Buffer) => {
      this.buffer += b.toString();
      for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
        const msg = JSON.parse(this.buffer.slice(0, nl)) as Record<string, unknown>;
        this.buffer = this.buffer.slice(nl + 1);
        if ('event' in msg) this.events.push(msg as { event: string });
        else if ('QMP' in msg) continue;
        else if ('error' in msg) {
          const err = msg.error as { class?: string; desc?: string };
          this.waiting.shift()?.reject(new Error(`QMP ${err.class}: ${err.desc}`));
        } else this.waiting.shift()?.resolve(msg.return);
      }
    });
    socket.on('close', () => {
      for (const w of this.waiting.splice(0)) w.reject(new Error('QMP connection closed'));
    });
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

  execute<T = unknown>(command: string, args?: object): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ resolve: resolve as (v: unknown) => void, reject });
      this.socket.write(
        `${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}) })}\n`,
      );
    });
  }

  close(): void {
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
): Promise<{ child: ChildProcess; qmp: Qmp; serial: Serial }> {
  // setpriv --pdeathsig: the kernel kills QEMU if the engine dies, even by SIGKILL.
  const [cmd, argv] = SETPRIV
    ? [SETPRIV, ['--pdeathsig', 'KILL', '--', binary, ...qemuArgs(s)]]
    : [binary, qemuArgs(s)];
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
    try {
      serial ??= await Promise.race([Serial.open(serialSocket(s.dir)), exited]);
      qmp ??= await Promise.race([Qmp.open(qmpSocket(s.dir)), exited]);
      return { child, qmp, serial };
    } catch (e) {
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
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
