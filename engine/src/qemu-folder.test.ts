// The VM's folder holds its console, control and screen sockets: whoever can reach them owns the
// guest, so the folder is the owner's alone and so are the sockets in it.
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkPrivateFolder, makePrivateFolder } from './qemu-folder.ts';
import { powerOff, startQemu } from './qemu.ts';

const root = mkdtempSync(
  join(tmpdir(), `vmplane-test-${process.env.VMPLANE_RUN_ID ?? 'local'}-folder-`),
);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8);

describe("the VM's folder", () => {
  it('is 0700 once QEMU runs in it, and its sockets are open to nobody else', async () => {
    const dir = join(root, 'vm');
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    // No kernel, no disk: the firmware finds nothing to boot and waits, which is all this needs.
    const vm = await startQemu({ dir, memoryMiB: 64, cpus: 1, screen: true });
    try {
      const modes = Object.fromEntries(
        ['.', ...readdirSync(dir)].map((f) => [f, mode(join(dir, f))]),
      );
      expect(modes, 'the folder and its sockets').toEqual({
        '.': '700',
        'qmp.sock': '600',
        'serial.sock': '600',
        'vnc.sock': '600',
      });
    } finally {
      await powerOff(vm, 0);
      vm.qmp.close();
      vm.serial.close();
    }
  }, 30_000);
});

describe('checkPrivateFolder / makePrivateFolder', () => {
  it('makes a missing folder and its parents, and tightens an open one', () => {
    const dir = join(root, 'a', 'b');
    makePrivateFolder(dir);
    expect(mode(dir)).toBe('700');
    chmodSync(dir, 0o777);
    expect(() => checkPrivateFolder(dir)).toThrow(/has mode 0777, not 0700/);
    makePrivateFolder(dir);
    expect(mode(dir)).toBe('700');
  });

  it('refuses a link in place of the folder', () => {
    const target = join(root, 'elsewhere');
    mkdirSync(target, { mode: 0o700 });
    const link = join(root, 'link');
    symlinkSync(target, link);
    expect(() => makePrivateFolder(link)).toThrow(/link\b.* is not a folder/);
  });
});
