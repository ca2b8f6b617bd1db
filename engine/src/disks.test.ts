import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDisk, createDiskArgs, diskInfo } from './disks.ts';

describe('disks', () => {
  it('asks qemu-img for a qcow2 file, backed by an image when there is one', () => {
    expect(createDiskArgs({ path: '/v/d.qcow2', sizeBytes: 1024 })).toEqual([
      'create',
      '-q',
      '-f',
      'qcow2',
      '/v/d.qcow2',
      '1024',
    ]);
    expect(
      createDiskArgs({
        path: '/v/b.qcow2',
        sizeBytes: 2048,
        backing: { path: '/img/u.qcow2', format: 'qcow2' },
      }),
    ).toEqual([
      'create',
      '-q',
      '-f',
      'qcow2',
      '-b',
      '/img/u.qcow2',
      '-F',
      'qcow2',
      '/v/b.qcow2',
      '2048',
    ]);
  });

  it('makes a blank disk and a disk backed by it, as qemu-img reports them', async () => {
    const dir = mkdtempSync(
      join(tmpdir(), `vmplane-test-${process.env.VMPLANE_RUN_ID ?? 'local'}-disk-`),
    );
    try {
      const base = join(dir, 'base.qcow2');
      await createDisk({ path: base, sizeBytes: 64 * 2 ** 20 });
      expect(await diskInfo(base)).toEqual({ format: 'qcow2', virtualSize: 64 * 2 ** 20 });
      const top = join(dir, 'top.qcow2');
      await createDisk({
        path: top,
        sizeBytes: 128 * 2 ** 20,
        backing: { path: base, format: 'qcow2' },
      });
      expect(await diskInfo(top)).toEqual({
        format: 'qcow2',
        virtualSize: 128 * 2 ** 20,
        backing: base,
      });
      await expect(
        createDisk({ path: join(dir, 'nope', 'x.qcow2'), sizeBytes: 1 }),
      ).rejects.toThrow(/qemu-img could not create .*nope\/x\.qcow2/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
