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
import { checkPrivateFolder, instanceFolder, makePrivateFolder } from './qemu-folder.ts';
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
        'ga.sock': '600',
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

describe('instanceFolder', () => {
  const key = { namespace: 'team-a', name: 'web', uid: '6b1f0f3e-0d9e-4a51-9f0e-3c0a5f1d2e7a' };

  it('is short and the same for the same instance, whatever the length of its names', () => {
    const dir = instanceFolder('/var/lib/vmplane', key);
    expect(dir).toMatch(/^\/var\/lib\/vmplane\/run\/[0-9a-f]{20}$/);
    expect(instanceFolder('/var/lib/vmplane', { ...key })).toBe(dir);
    const long = instanceFolder('/var/lib/vmplane', {
      namespace: 'n'.repeat(63),
      name: 'v'.repeat(253),
    });
    expect(long.length).toBe(dir.length);
  });

  it('differs for another namespace, name or instance', () => {
    const folders = [
      key,
      { ...key, uid: undefined },
      { ...key, uid: 'another' },
      { ...key, name: 'web2' },
      { ...key, namespace: 'team-b' },
      { namespace: 'team-aw', name: 'eb', uid: key.uid },
    ].map((k) => instanceFolder('/s', k));
    expect(new Set(folders).size).toBe(folders.length);
  });

  it('says how long the state folder may be when even a short folder is too long', () => {
    const deep = `/${'d'.repeat(69)}`; // 70 bytes: its serial.sock has 107
    expect(instanceFolder(deep, key)).toHaveLength(95);
    expect(() => instanceFolder(`${deep}x`, key)).toThrow(
      /^stateDir: "\/d+x" is not accepted; accepted: a state folder of at most 70 bytes.*sun_path, 108 bytes/,
    );
    expect(() => instanceFolder('state', key)).toThrow(/^stateDir: "state" .* absolute path/);
  });
});
