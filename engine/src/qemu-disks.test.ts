import { describe, expect, it } from 'vitest';
import { diskArgs, diskNames, NODE_NAME_MAX } from './qemu-disks.ts';
import { parseQemuArgs } from './qemu-options.ts';

describe('disk names', () => {
  it("come from the volume's name, or its index when it has none", () => {
    expect(diskNames({ name: 'rootdisk' }, 3)).toEqual({
      name: 'rootdisk',
      fileNode: 'file-rootdisk',
      formatNode: 'fmt-rootdisk',
      deviceId: 'ua-rootdisk',
    });
    expect(diskNames({}, 2)).toMatchObject({ fileNode: 'file-disk2', deviceId: 'ua-disk2' });
  });

  it("fit QEMU's 31 characters, and long names that share a beginning stay apart", () => {
    const a = diskNames({ name: `${'x'.repeat(40)}-a` }, 0);
    const b = diskNames({ name: `${'x'.repeat(40)}-b` }, 1);
    for (const n of [a, b]) {
      expect(n.fileNode.length).toBeLessThanOrEqual(NODE_NAME_MAX);
      expect(n.formatNode.length).toBeLessThanOrEqual(NODE_NAME_MAX);
    }
    expect(a.fileNode).not.toBe(b.fileNode);
    expect(diskNames({ name: 'n'.repeat(26) }, 0).fileNode).toBe(`file-${'n'.repeat(26)}`);
    expect(diskNames({ name: 'n'.repeat(27) }, 0).fileNode).toMatch(/^file-n{19}-[0-9a-f]{6}$/);
  });

  it('refuse names that are not safe in QEMU ids, and names two disks share', () => {
    for (const name of ['', 'a,b', 'a=b', '-a', 'a b', 'é', 'n'.repeat(64)])
      expect(() => diskNames({ name }, 1)).toThrow(/^disks\[1\]\.name: .* a volume name: 1 to 63/);
    expect(() =>
      diskArgs([
        { path: '/a', format: 'raw', name: 'd' },
        { path: '/b', format: 'raw', name: 'd' },
      ]),
    ).toThrow(/^disks\[1\]\.name: "d" .* a volume name no other disk has/);
  });

  it('refuse other formats and relative paths', () => {
    expect(() => diskArgs([{ path: '/a', format: 'vmdk' as 'raw' }])).toThrow(
      /^disks\[0\]\.format: "vmdk" .* qcow2 or raw/,
    );
    expect(() => diskArgs([{ path: 'json:{}', format: 'raw' }])).toThrow(
      /^disks\[0\]\.path: "json:\{\}" .* absolute path/,
    );
  });

  it('attach each device to its format node, and the format node to its file node', () => {
    const options = parseQemuArgs(diskArgs([{ path: '/d/x', format: 'qcow2', name: 'data' }]));
    expect(options.map((o) => [o.props?.['node-name'], o.props?.file, o.props?.drive])).toEqual([
      ['file-data', undefined, undefined],
      ['fmt-data', 'file-data', undefined],
      [undefined, undefined, 'fmt-data'],
    ]);
  });
});
