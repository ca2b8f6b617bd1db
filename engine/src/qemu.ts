// One QEMU process per running VM: its command line (a pure function), its QMP control socket and
// its serial console, both on Unix sockets in the VM's own folder (no TCP port, no address).
import { spawn, type ChildProcess } from 'node:child_process';
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
}

export const serialSocket = (dir: string): string => join(dir, 'serial.sock');
export const qmpSocket = (dir: string): string => join(dir, 'qmp.sock');

/** The command line for a VM: no defaults, no network, console and control on Unix sockets. */
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

/** The serial console: what the guest printed so far, and a way to type. */
export class Serial {
  output = '';
  private constructor(private readonly socket: Socket) {
    socket.on('data', (b: Buffer) => {
      this.output += b.toString('latin1');
    });
  }

  static async open(path: string): Promise<Serial> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(path, () => resolve(s));
      s.once('error', reject);
    });
    return new Serial(socket);
  }

  type(text: string): void {
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
  const child = spawn(binary, qemuArgs(s), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, sig) =>
      reject(new Error(`QEMU exited (${sig ?? `exit ${code}`}): ${stderr.trim()}`)),
    ),
  );
  exited.catch(() => undefined);
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const [qmp, serial] = await Promise.race([
        Promise.all([Qmp.open(qmpSocket(s.dir)), Serial.open(serialSocket(s.dir))]),
        exited,
      ]);
      return { child, qmp, serial };
    } catch (e) {
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
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
