import { describe, expect, it } from 'vitest';
import { withVolumeFormats } from './guest-disks.ts';

describe('withVolumeFormats', () => {
  it('gives each volume’s disk its file’s format, by volume name, and leaves other disks alone', () => {
    const spec = withVolumeFormats(
      {
        dir: '/d',
        memoryMiB: 128,
        cpus: 1,
        disks: [
          { path: '/seed.iso', format: 'raw', name: 'cloudinitdisk', readOnly: true },
          { path: '/s/volumes/pvc-1/disk.img', format: 'qcow2', name: 'root' },
        ],
      },
      [{ volume: 'root', kind: 'claim', name: 'r', uid: 'u', sizeBytes: 1, format: 'raw' }],
    );
    expect(spec.disks).toEqual([
      { path: '/seed.iso', format: 'raw', name: 'cloudinitdisk', readOnly: true },
      { path: '/s/volumes/pvc-1/disk.img', format: 'raw', name: 'root' },
    ]);
  });
});
