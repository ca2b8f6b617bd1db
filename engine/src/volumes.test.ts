import { describe, expect, it } from 'vitest';
import { claimRequest, macFor, planVolumes, type DataVolumeTemplate } from './volumes.ts';

const library = [{ name: 'tiny-linux', url: 'http://images.local-engine.invalid/tiny-linux' }];
const template = (name: string, spec: DataVolumeTemplate['spec']): DataVolumeTemplate => ({
  metadata: { name },
  spec,
});
const storage = (size: string) => ({ resources: { requests: { storage: size } } });

describe('planVolumes', () => {
  it('makes a file per DataVolume template (blank or from a held image) and per claim, in volume order', () => {
    const plan = planVolumes(
      [
        { name: 'boot', dataVolume: { name: 'vm-boot' } },
        { name: 'data', persistentVolumeClaim: { claimName: 'pg' } },
        { name: 'scratch', dataVolume: { name: 'vm-scratch' } },
        { name: 'cloudinitdisk', cloudInitNoCloud: {} },
      ],
      [
        template('vm-scratch', { source: { blank: {} }, storage: storage('1Gi') }),
        template('vm-boot', {
          source: { http: { url: library[0]!.url } },
          storage: storage('2Gi'),
        }),
      ],
      library,
      (n) => (n === 'pg' ? 5 * 2 ** 30 : undefined),
    );
    expect(plan).toEqual({
      ok: true,
      ignored: ['cloudinitdisk'],
      disks: [
        {
          volume: 'boot',
          kind: 'dataVolume',
          name: 'vm-boot',
          sizeBytes: 2 * 2 ** 30,
          image: 'tiny-linux',
        },
        { volume: 'data', kind: 'claim', name: 'pg', sizeBytes: 5 * 2 ** 30 },
        { volume: 'scratch', kind: 'dataVolume', name: 'vm-scratch', sizeBytes: 2 ** 30 },
      ],
    });
  });

  it('refuses an image it does not hold, naming the URL and the images it has', () => {
    const plan = planVolumes(
      [{ name: 'boot', dataVolume: { name: 'b' } }],
      [
        template('b', {
          source: { registry: { url: 'docker://quay.io/x:1' } },
          pvc: storage('1Gi'),
        }),
      ],
      library,
      () => undefined,
    );
    expect(plan).toMatchObject({ ok: false, reason: 'ImageUnavailable' });
    expect(plan.ok || plan.message).toContain('docker://quay.io/x:1');
    expect(plan.ok || plan.message).toContain(
      'tiny-linux (http://images.local-engine.invalid/tiny-linux)',
    );
  });

  it('refuses a missing claim, a missing template, a size-less template and a clone', () => {
    const reason = (p: ReturnType<typeof planVolumes>): string => (p.ok ? 'ok' : p.reason);
    expect(
      reason(
        planVolumes(
          [{ name: 'd', persistentVolumeClaim: { claimName: 'x' } }],
          [],
          library,
          () => undefined,
        ),
      ),
    ).toBe('ClaimNotFound');
    expect(
      reason(planVolumes([{ name: 'd', dataVolume: { name: 'x' } }], [], library, () => 1)),
    ).toBe('DataVolumeNotFound');
    expect(
      reason(
        planVolumes(
          [{ name: 'd', dataVolume: { name: 'x' } }],
          [template('x', { source: { blank: {} } })],
          library,
          () => 1,
        ),
      ),
    ).toBe('DataVolumeSizeMissing');
    expect(
      reason(
        planVolumes(
          [{ name: 'd', dataVolume: { name: 'x' } }],
          [template('x', { source: { pvc: { name: 'g' } }, storage: storage('1Gi') })],
          library,
          () => 1,
        ),
      ),
    ).toBe('ImportUnsupported');
  });

  it('refuses names that are not object names, so no path leaves the state folder', () => {
    const plan = planVolumes(
      [{ name: 'd', dataVolume: { name: '../../etc/x' } }],
      [template('../../etc/x', { source: { blank: {} }, storage: storage('1Gi') })],
      library,
      () => 1,
    );
    expect(plan).toMatchObject({ ok: false, reason: 'InvalidName' });
    expect(
      planVolumes(
        [{ name: 'd', persistentVolumeClaim: { claimName: 'a/b' } }],
        [],
        library,
        () => 1,
      ),
    ).toMatchObject({ ok: false, reason: 'InvalidName' });
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
