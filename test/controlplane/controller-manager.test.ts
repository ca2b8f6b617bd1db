// kube-controller-manager in the tests' control plane: what a cluster does that etcd and
// kube-apiserver alone do not (before it ran, each of these waited forever).
import { CoreV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { waitUntil } from '../../kube/src/client.ts';
import { createNamespace, kubeConfig } from '../support/cluster.ts';

const core = (): CoreV1Api => kubeConfig().makeApiClient(CoreV1Api);
const until = (what: string, ok: () => Promise<boolean>, ms = 60_000): Promise<true> =>
  waitUntil(what, async () => ((await ok()) ? true : undefined), ms, 300);
const gone = async (read: () => Promise<unknown>): Promise<boolean> =>
  read().then(
    () => false,
    (e: { code?: number }) => e.code === 404,
  );

describe('kube-controller-manager', { timeout: 120_000 }, () => {
  it('empties a deleted namespace and removes it', async () => {
    const ns = await createNamespace('kcm-ns');
    await core().createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'left' }, data: { a: 'b' } },
    });
    await core().deleteNamespace({ name: ns });
    await until(
      'the namespace is gone',
      () => gone(() => core().readNamespace({ name: ns })),
      90_000,
    );
    expect(await gone(() => core().readNamespacedConfigMap({ name: 'left', namespace: ns }))).toBe(
      true,
    );
  });

  it('collects an object whose owner was deleted', async () => {
    const ns = await createNamespace('kcm-gc');
    const owner = await core().createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'owner' } },
    });
    await core().createNamespacedConfigMap({
      namespace: ns,
      body: {
        metadata: {
          name: 'dependent',
          ownerReferences: [
            { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid! },
          ],
        },
      },
    });
    await core().deleteNamespacedConfigMap({ name: 'owner', namespace: ns });
    await until('the dependent is collected', () =>
      gone(() => core().readNamespacedConfigMap({ name: 'dependent', namespace: ns })),
    );
    await core().deleteNamespace({ name: ns });
  });

  it('binds a claim to the volume reserved for it, and lets an unused claim go', async () => {
    const ns = await createNamespace('kcm-pv');
    const pvName = `kcm-pv-${ns}`;
    const claim = await core().createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: {
        metadata: { name: 'data' },
        spec: {
          storageClassName: '',
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: '1Gi' } },
        },
      },
    });
    // The API server's StorageObjectInUseProtection admission puts the finalizer on.
    expect(claim.metadata?.finalizers).toContain('kubernetes.io/pvc-protection');
    await core().createPersistentVolume({
      body: {
        metadata: { name: pvName },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Retain',
          storageClassName: '',
          hostPath: { path: '/nonexistent-kcm-test' },
          claimRef: { namespace: ns, name: 'data', uid: claim.metadata!.uid! },
        },
      },
    });
    await until(
      'the claim is bound',
      async () =>
        (await core().readNamespacedPersistentVolumeClaim({ name: 'data', namespace: ns })).status
          ?.phase === 'Bound',
    );
    const bound = await core().readNamespacedPersistentVolumeClaim({ name: 'data', namespace: ns });
    expect(bound.spec?.volumeName).toBe(pvName);
    // No pod uses it, so pvc-protection lets it go; the Retain volume is then Released.
    await core().deleteNamespacedPersistentVolumeClaim({ name: 'data', namespace: ns });
    await until('the claim is gone', () =>
      gone(() => core().readNamespacedPersistentVolumeClaim({ name: 'data', namespace: ns })),
    );
    await until(
      'the volume is released',
      async () =>
        (await core().readPersistentVolume({ name: pvName })).status?.phase === 'Released',
    );
    await core().deletePersistentVolume({ name: pvName });
    await core().deleteNamespace({ name: ns });
  });
});
