import { describe, expect, it } from 'vitest';
import { claimRequest, dataVolumeSource, macFor, planDisks } from './volumes.ts';

const tiny = {
  name: 'tiny-linux',
  url: 'http://images.local-engine.invalid/tiny-linux',
  path: '/cache/disk.img',
  format: 'raw' as const,
};
const storage = (size: string) => ({ resources: { requests: { storage: size } } });

describe('dataVolumeSource', () => {
  it('gives a blank disk of the asked size, and a held image as the disk’s backing', () => {
    expect(dataVolumeSource({ source: { blank: {} }, storage: storage('1Gi') }, [tiny])).toEqual({
      ok: true,
      sizeBytes: 2 ** 30,
    });
    expect(
      dataVolumeSource({ source: { http: { url: tiny.url } }, storage: storage('64Mi') }, [tiny]),
    ).toEqual({ ok: true, sizeBytes: 64 * 2 ** 20, image: tiny });
  });

  it('provides no blank disk for a source it cannot give: the DataVolume waits in CDI’s phase, with why', () => {
    const cases: [object, string, string][] = [
      [
        { source: { http: { url: 'https://example.invalid/x.img' } } },
        'ImportScheduled',
        'cannot download https://example.invalid/x.img',
      ],
      [
        { source: { registry: { url: 'docker://quay.io/x:1' } } },
        'ImportScheduled',
        'tiny-linux (http://images.local-engine.invalid/tiny-linux)',
      ],
      [{ source: { pvc: { name: 'golden' } } }, 'CloneScheduled', 'source pvc'],
      [{ source: { snapshot: { name: 's' } } }, 'CloneScheduled', 'source snapshot'],
      [{ source: { upload: {} } }, 'UploadScheduled', 'source upload'],
      [{ source: { s3: { url: 's3://b/x' } } }, 'ImportScheduled', 'source s3'],
      [
        { sourceRef: { kind: 'DataSource', name: 'fedora' } },
        'Pending',
        'sourceRef DataSource fedora',
      ],
    ];
    for (const [spec, phase, says] of cases) {
      const got = dataVolumeSource({ ...spec, storage: storage('1Gi') }, [tiny]);
      expect(got).toMatchObject({ ok: false, phase });
      expect(got.ok || got.message).toContain(says);
    }
    expect(dataVolumeSource({ source: { blank: {} } }, [])).toMatchObject({ ok: false });
  });
});

describe('planDisks', () => {
  it('gives each volume the file of its object (by UID), in volume order; others are ignored', () => {
    const plan = planDisks(
      [
        { name: 'boot', dataVolume: { name: 'vm-boot' } },
        { name: 'data', persistentVolumeClaim: { claimName: 'pg', readOnly: true } },
        { name: 'cloudinitdisk', cloudInitNoCloud: {} },
      ],
      (r) =>
        r.kind === 'claim' ? { uid: 'pvc-uid', sizeBytes: 5 } : { uid: 'dv-uid', sizeBytes: 0 },
    );
    expect(plan).toEqual({
      ok: true,
      ignored: ['cloudinitdisk'],
      disks: [
        { volume: 'boot', kind: 'dataVolume', name: 'vm-boot', uid: 'dv-uid', sizeBytes: 0 },
        { volume: 'data', kind: 'claim', name: 'pg', uid: 'pvc-uid', sizeBytes: 5, readOnly: true },
      ],
    });
  });

  it('names the claim that is missing; a name that is no object name is missing too', () => {
    expect(
      planDisks([{ name: 'd', persistentVolumeClaim: { claimName: 'x' } }], () => undefined),
    ).toEqual({
      ok: false,
      missingClaim: 'x',
    });
    expect(
      planDisks([{ name: 'd', dataVolume: { name: '../../etc/x' } }], () => ({
        uid: 'u',
        sizeBytes: 1,
      })),
    ).toEqual({ ok: false, missingClaim: '../../etc/x' });
  });
});

describe('planDisks with volumes', () => {
  it('carries the volume’s file, format and claim; a volume not usable yet says why', () => {
    const plan = planDisks([{ name: 'root', dataVolume: { name: 'vm-root' } }], () => ({
      uid: 'c1',
      sizeBytes: 8,
      path: '/s/volumes/pvc-c1/disk.img',
      format: 'raw',
      claimName: 'vm-root',
      volumeMode: 'Filesystem',
    }));
    expect(plan).toEqual({
      ok: true,
      ignored: [],
      disks: [
        {
          volume: 'root',
          kind: 'dataVolume',
          name: 'vm-root',
          uid: 'c1',
          sizeBytes: 8,
          path: '/s/volumes/pvc-c1/disk.img',
          format: 'raw',
          claimName: 'vm-root',
          volumeMode: 'Filesystem',
        },
      ],
    });
    expect(
      planDisks(
        [
          { name: 'a', persistentVolumeClaim: { claimName: 'a' } },
          { name: 'b', persistentVolumeClaim: { claimName: 'b' } },
        ],
        (r) => (r.name === 'a' ? { waiting: 'claim ns/a is not bound yet' } : undefined),
      ),
    ).toEqual({ ok: false, waiting: 'claim ns/a is not bound yet' });
  });
});

describe('claimRequest and macFor', () => {
  it('reads a claim size, and gives each VM a stable MAC of its own', () => {
    expect(claimRequest({ spec: storage('10Gi') })).toBe(10 * 2 ** 30);
    expect(claimRequest(undefined)).toBeUndefined();
    expect(macFor('a')).toBe(macFor('a'));
    expect(macFor('a')).not.toBe(macFor('b'));
    expect(macFor('a')).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
  });
});
