import { describe, expect, it } from 'vitest';
import {
  claimForDataVolume,
  requiredSpace,
  usableSpace,
  type DvLike,
  type RenderContext,
} from './claim.ts';

const ctx: RenderContext = {
  classes: [
    {
      metadata: {
        name: 'local',
        annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
      },
    },
  ],
  profiles: new Map([['local', [{ accessModes: ['ReadWriteOnce'], volumeMode: 'Filesystem' }]]]),
  overhead: () => 0.06,
};
const dv = (spec: DvLike['spec']): DvLike => ({
  metadata: { name: 'd', namespace: 'ns', uid: 'u1' },
  spec,
});

describe('claimForDataVolume (CDI newPersistentVolumeClaim, renderPvcSpec)', () => {
  it('renders spec.storage from the default class’s StorageProfile, grown by the filesystem overhead', () => {
    const r = claimForDataVolume(
      dv({
        source: { http: { url: 'http://x/y.qcow2' } },
        storage: { resources: { requests: { storage: '64Mi' } } },
      }),
      ctx,
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.claim.spec).toEqual({
      storageClassName: 'local',
      accessModes: ['ReadWriteOnce'],
      volumeMode: 'Filesystem',
      resources: { requests: { storage: String(requiredSpace(0.06, 64 * 2 ** 20)) } },
    });
    expect(r.claim).toMatchObject({
      metadata: {
        annotations: {
          'cdi.kubevirt.io/storage.import.endpoint': 'http://x/y.qcow2',
          'cdi.kubevirt.io/storage.import.source': 'http',
          'cdi.kubevirt.io/storage.contentType': 'kubevirt',
          'cdi.kubevirt.io/storage.pod.restarts': '0',
        },
        labels: { app: 'containerized-data-importer' },
        ownerReferences: [{ kind: 'DataVolume', name: 'd', uid: 'u1', controller: true }],
      },
    });
  });

  it('takes spec.pvc as given, and a clone request for a pvc source', () => {
    const r = claimForDataVolume(
      dv({
        source: { pvc: { name: 'src' } },
        pvc: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      }),
      ctx,
    );
    expect(r.ok && r.claim.spec.resources).toEqual({ requests: { storage: '1Gi' } });
    expect(
      r.ok &&
        (r.claim.metadata as { annotations: Record<string, string> }).annotations[
          'k8s.io/CloneRequest'
        ],
    ).toBe('ns/src');
  });

  it('refuses as CDI does: no profile modes, no size', () => {
    const none = { ...ctx, profiles: new Map() };
    expect(
      claimForDataVolume(dv({ storage: { resources: { requests: { storage: '1Gi' } } } }), none),
    ).toEqual({
      ok: false,
      reason: 'ErrClaimNotValid',
      message:
        'Spec is missing accessMode and volumeMode, cannot get access mode from StorageProfile local',
    });
    expect(claimForDataVolume(dv({ storage: {} }), ctx)).toMatchObject({
      ok: false,
      message: 'PVC Spec is not valid - missing storage size',
    });
  });

  it('usable space undoes the overhead (GetUsableSpace)', () => {
    expect(usableSpace(0.06, requiredSpace(0.06, 64 * 2 ** 20))).toBe(64 * 2 ** 20);
  });
});
