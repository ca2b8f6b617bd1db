// One real boot with the command line as it is now: QEMU under its seccomp sandbox, the disks as
// -blockdev nodes behind virtio-blk devices, every path holding commas (the folder, the disks, the
// kernel), the network card's traffic recorded until the guest's DHCP acknowledgement went by. The
// tiny Linux boots to its shell on the serial console and sees its disks as /dev/vda and /dev/vdb.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheRoot } from '../../kube/src/go-build.ts';
import { dhcpAckAddress } from './dhcp-observe.ts';
import { createDisk } from './disks.ts';
import {
  GUEST_NETWORK,
  NET_DUMP_ID,
  powerOff,
  startQemu,
  stopNetDump,
  type Qmp,
  type Serial,
} from './qemu.ts';
import { ensureTinyLinux, TINY_BANNER, TINY_PROMPT } from './tiny-linux.ts';

const MAC = '52:54:00:12:34:56';
let root = '';
let vm: { child: ChildProcess; qmp: Qmp; serial: Serial } | undefined;

beforeAll(async () => {
  try {
    execFileSync('qemu-system-x86_64', ['--version']);
  } catch {
    throw new Error('QEMU is not installed: apt-get install qemu-system-x86 qemu-utils');
  }
  // Named for the run, so the runner's leak check sees it if it outlives the test.
  root = mkdtempSync(
    join(tmpdir(), `vmplane-test-${process.env.VMPLANE_RUN_ID ?? 'local'}-boot,x=y-`),
  );
}, 30_000);

afterAll(() => {
  if (vm && vm.child.exitCode === null && vm.child.signalCode === null) vm.child.kill('SIGKILL');
  vm?.qmp.close();
  vm?.serial.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('the command line, booted', () => {
  it('boots the tiny Linux under the sandbox with -blockdev disks, paths with commas and all', async () => {
    const image = await ensureTinyLinux(cacheRoot(), (l) => console.log(l));
    const kernel = join(root, 'vmlinuz,a=b');
    const initrd = join(root, 'initrd,a=b');
    symlinkSync(image.kernel, kernel);
    symlinkSync(image.initrd, initrd);
    const data = join(root, 'data,file.locking=off.qcow2');
    await createDisk({ path: data, sizeBytes: 16 * 2 ** 20 });
    const seed = join(root, 'seed,readonly=off.qcow2');
    await createDisk({ path: seed, sizeBytes: 2 ** 20 });
    const dir = join(root, 'vm,server=off');
    const dumpFile = join(dir, 'net0,x.pcap');
    const started = Date.now();
    vm = await startQemu({
      dir,
      memoryMiB: 256,
      cpus: 1,
      kernel,
      initrd,
      append: 'console=ttyS0 panic=-1',
      disks: [
        { path: data, format: 'qcow2', name: 'data' },
        { path: seed, format: 'qcow2', name: 'seed', readOnly: true },
      ],
      nic: { mac: MAC, dumpFile },
    });
    // The sandbox is on: the kernel filters QEMU's system calls (seccomp mode 2).
    expect(readFileSync(`/proc/${vm.child.pid}/status`, 'utf8')).toMatch(/^Seccomp:\s+2$/m);
    // The folder and its sockets are the owner's alone.
    expect((statSync(dir).mode & 0o777).toString(8)).toBe('700');
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.sock')))
      expect((statSync(join(dir, f)).mode & 0o777).toString(8), f).toBe('600');
    // The devices have the ids the volumes give them, on the format nodes.
    const block =
      await vm.qmp.execute<{ qdev: string; inserted?: { 'node-name': string; ro: boolean } }[]>(
        'query-block',
      );
    expect(
      block.map((b) => [b.qdev.split('/')[3], b.inserted?.['node-name'], b.inserted?.ro]),
    ).toEqual([
      ['ua-data', 'fmt-data', false],
      ['ua-seed', 'fmt-seed', true],
    ]);

    await vm.serial.waitFor(TINY_BANNER, 120_000);
    await vm.serial.waitFor(TINY_PROMPT, 30_000);
    console.log(
      `tiny Linux: shell ${Date.now() - started} ms after QEMU started (sandbox, -blockdev)`,
    );
    const from = vm.serial.output.length;
    vm.serial.type('ls /dev/vd*; cat /sys/block/vdb/ro; echo done-$((6*7))\n');
    const out = await vm.serial.waitFor('done-42', 30_000, from);
    expect(out).toMatch(/\/dev\/vda\s+\/dev\/vdb/);
    expect(out).toMatch(/^1\r?$/m);

    // The guest took its address by DHCP before its banner: the recording shows the ACK.
    expect(dhcpAckAddress(readFileSync(dumpFile), MAC)).toBe(GUEST_NETWORK.guestIp);
    await stopNetDump(vm.qmp);
    const objects = await vm.qmp.execute<{ name: string }[]>('qom-list', { path: '/objects' });
    expect(objects.map((o) => o.name)).not.toContain(NET_DUMP_ID);

    expect(await powerOff(vm, 0)).toBe('hard');
  }, 240_000);
});
