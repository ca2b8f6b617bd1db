import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  insideVolumes,
  makeVolumeFile,
  removeVolume,
  volumesBytes,
  growVolumeFile,
} from './volume-files.ts';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('volume files', () => {
  it('makes a sparse file of the size (disk.img in a folder, or the path itself), grows and removes it', () => {
    dir = mkdtempSync(join(tmpdir(), 'vmplane-volfiles-'));
    const fsPv = {
      metadata: { name: 'pvc-a' },
      spec: { local: { path: join(dir, 'volumes', 'pvc-a') } },
    };
    const blockPv = {
      metadata: { name: 'pvc-b' },
      spec: { local: { path: join(dir, 'volumes', 'pvc-b') }, volumeMode: 'Block' },
    };
    const a = makeVolumeFile(dir, fsPv, 8 * 2 ** 20);
    expect(a).toBe(join(dir, 'volumes', 'pvc-a', 'disk.img'));
    expect(statSync(a).size).toBe(8 * 2 ** 20);
    expect(statSync(a).blocks * 512).toBeLessThan(2 ** 20);
    expect(statSync(join(dir, 'volumes', 'pvc-a')).mode & 0o777).toBe(0o700);
    expect(statSync(a).mode & 0o777).toBe(0o600);
    const b = makeVolumeFile(dir, blockPv, 2 ** 20);
    expect(b).toBe(join(dir, 'volumes', 'pvc-b'));
    expect(statSync(b).isFile()).toBe(true);
    expect(volumesBytes(dir)).toBe(9 * 2 ** 20);
    expect(volumesBytes(dir, a)).toBe(2 ** 20);
    growVolumeFile(a, 16 * 2 ** 20);
    growVolumeFile(a, 4 * 2 ** 20);
    expect(statSync(a).size).toBe(16 * 2 ** 20);
    removeVolume(dir, fsPv);
    removeVolume(dir, blockPv);
    expect(existsSync(join(dir, 'volumes', 'pvc-a'))).toBe(false);
    expect(existsSync(b)).toBe(false);
  });

  it('never touches a path outside the volumes folder', () => {
    dir = mkdtempSync(join(tmpdir(), 'vmplane-volfiles-'));
    expect(insideVolumes(dir, join(dir, 'volumes', 'pvc-a'))).toBe(true);
    expect(insideVolumes(dir, join(dir, 'volumes'))).toBe(false);
    expect(insideVolumes(dir, join(dir, 'vms', 'x'))).toBe(false);
    expect(insideVolumes(dir, '/etc')).toBe(false);
    const outside = { metadata: { name: 'x' }, spec: { local: { path: join(dir, 'elsewhere') } } };
    expect(() => makeVolumeFile(dir, outside, 1)).toThrow('is not under');
    removeVolume(dir, { spec: { local: { path: dir } } });
    expect(existsSync(dir)).toBe(true);
  });
});
