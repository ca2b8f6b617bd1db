// What goes on qemu-img's command line is checked as QEMU's is: absolute paths (a relative one
// could read as an option or a protocol such as json: or nbd:), whole sizes, a known format; and
// the disk files it makes are the owner's alone.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDisk, createDiskArgs, type DiskSpec } from './disks.ts';

function refusal(d: DiskSpec): string {
  try {
    return `accepted: qemu-img ${createDiskArgs(d).join(' ')}`;
  } catch (e) {
    return (e as Error).message;
  }
}

describe("qemu-img's arguments", () => {
  it('are refused, naming the field, when they are not an absolute path, a whole size or a known format', () => {
    const cases: [DiskSpec, RegExp][] = [
      [{ path: 'd.qcow2', sizeBytes: 1 }, /^path: "d\.qcow2" .*absolute path/],
      [{ path: '/v/d.qcow2', sizeBytes: 1.5 }, /^sizeBytes: 1\.5 .*whole number of bytes/],
      [{ path: '/v/d.qcow2', sizeBytes: -1 }, /^sizeBytes: -1 /],
      [{ path: '/v/d.qcow2', sizeBytes: 1e21 }, /^sizeBytes: 1e\+21 /],
      [
        {
          path: '/v/d.qcow2',
          sizeBytes: 1,
          backing: { path: 'json:{"file.driver":"nbd","file.host":"10.0.0.1"}', format: 'raw' },
        },
        /^backing\.path: "json:.*absolute path/,
      ],
      [
        { path: '/v/d.qcow2', sizeBytes: 1, backing: { path: '/img/a', format: 'vmdk' as 'raw' } },
        /^backing\.format: "vmdk" .*qcow2 or raw/,
      ],
    ];
    expect(cases.map(([d]) => refusal(d))).toEqual(
      cases.map(([, re]) => expect.stringMatching(re)),
    );
  });

  it('make disk files only their owner can read', async () => {
    const dir = mkdtempSync(
      join(tmpdir(), `vmplane-test-${process.env.VMPLANE_RUN_ID ?? 'local'}-disk-`),
    );
    try {
      const path = join(dir, 'd.qcow2');
      await createDisk({ path, sizeBytes: 2 ** 20 });
      expect((statSync(path).mode & 0o777).toString(8)).toBe('600');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
