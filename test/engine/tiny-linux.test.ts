// A real guest under QEMU (software emulation): the tiny Linux image built from Debian's packages
// boots to a shell on the serial console, answers a command, pauses and resumes through QMP, and
// leaves nothing behind when it is stopped. No network: console and control are Unix sockets.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheRoot } from '../../kube/src/go-build.ts';
import {
  ensureTinyLinux,
  TINY_BANNER,
  TINY_PROMPT,
  type TinyLinux,
} from '../../engine/src/tiny-linux.ts';
import { powerOff, startQemu, type Qmp, type Serial } from '../../engine/src/qemu.ts';
import type { ChildProcess } from 'node:child_process';

let image: TinyLinux;
let dir = '';
let vm: { child: ChildProcess; qmp: Qmp; serial: Serial } | undefined;

beforeAll(async () => {
  try {
    execFileSync('qemu-system-x86_64', ['--version']);
  } catch {
    throw new Error('QEMU is not installed: apt-get install qemu-system-x86 (brew install qemu)');
  }
  image = await ensureTinyLinux(cacheRoot(), (l) => console.log(l));
  // Named for the run, so the runner's leak check sees it if it outlives the test (QEMU carries
  // the run's id in its environment, so a leftover process is seen too).
  dir = mkdtempSync(join(tmpdir(), `vmplane-test-${process.env.VMPLANE_RUN_ID ?? 'local'}-vm-`));
}, 300_000);

afterAll(() => {
  if (vm && vm.child.exitCode === null) vm.child.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the tiny Linux guest under QEMU', () => {
  it('boots to a shell on the serial console and answers a command', async () => {
    const started = Date.now();
    vm = await startQemu({
      dir,
      memoryMiB: 256,
      cpus: 1,
      kernel: image.kernel,
      initrd: image.initrd,
      append: 'console=ttyS0 panic=-1',
    });
    await vm.serial.waitFor(TINY_BANNER, 90_000);
    await vm.serial.waitFor(TINY_PROMPT, 30_000);
    console.log(
      `tiny Linux (${image.release}): shell prompt ${Date.now() - started} ms after QEMU started, under TCG`,
    );
    const from = vm.serial.output.length;
    vm.serial.type('echo answer-$((6*7))\n');
    await vm.serial.waitFor('answer-42', 30_000, from);
    expect(vm.serial.output).toContain(`${TINY_BANNER} (kernel ${image.release})`);
  }, 150_000);

  it('pauses and resumes through QMP, and the guest goes on answering', async () => {
    if (!vm) throw new Error('no VM');
    expect(await vm.qmp.execute('query-status')).toMatchObject({
      status: 'running',
      running: true,
    });
    await vm.qmp.execute('stop');
    expect(await vm.qmp.execute('query-status')).toMatchObject({
      status: 'paused',
      running: false,
    });
    const from = vm.serial.output.length;
    vm.serial.type('echo after-$((7*6))\n');
    // Paused: nothing runs, so nothing answers.
    await new Promise((r) => setTimeout(r, 1000));
    expect(vm.serial.output.slice(from)).not.toContain('after-42');
    await vm.qmp.execute('cont');
    expect(await vm.qmp.execute('query-status')).toMatchObject({ status: 'running' });
    await vm.serial.waitFor('after-42', 30_000, from);
  }, 60_000);

  it('powers off: ACPI first, then hard after the grace period (the tiny guest has no ACPI daemon); the process is gone', async () => {
    if (!vm) throw new Error('no VM');
    expect(await powerOff(vm, 1_500)).toBe('hard');
    expect(vm.child.exitCode).toBe(0);
    vm.qmp.close();
    vm.serial.close();
    rmSync(dir, { recursive: true, force: true });
    expect(existsSync(dir)).toBe(false);
  }, 30_000);
});
