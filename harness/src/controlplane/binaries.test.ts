import { describe, expect, it } from 'vitest';
import {
  etcdWrapper,
  kubernetesWrapper,
  locateBinaries,
  KUBERNETES_STAGING_MODULES,
} from './binaries.ts';

describe('control-plane binaries', () => {
  it('pins every staging module to the matching v0.X.Y', () => {
    const w = kubernetesWrapper('/c', '1.35.4');
    const goMod = w.files['go.mod'] ?? '';
    expect(goMod).toContain('require k8s.io/kubernetes v1.35.4');
    for (const m of KUBERNETES_STAGING_MODULES)
      expect(goMod).toContain(`replace k8s.io/${m} => k8s.io/${m} v0.35.4\n`);
    expect(w.builds.map((b) => b.out)).toEqual([
      '/c/bin/kubernetes-v1.35.4/kube-apiserver',
      '/c/bin/kubernetes-v1.35.4/kube-controller-manager',
      '/c/bin/kubernetes-v1.35.4/kubectl',
    ]);
  });

  it('keeps etcd in a module of its own', () => {
    const w = etcdWrapper('/c', '3.6.16');
    expect(w.files['go.mod']).toContain('require go.etcd.io/etcd/server/v3 v3.6.16');
    expect(w.files['go.mod']).not.toContain('k8s.io');
    expect(w.builds[0]?.out).toBe('/c/bin/etcd-v3.6.16/etcd');
  });

  it('takes KUBEBUILDER_ASSETS when set, falling back to the cached kubectl and controller manager', () => {
    const b = locateBinaries(
      { KUBEBUILDER_ASSETS: '/assets', VMPLANE_CACHE_DIR: '/c' },
      (p) => !p.endsWith('/assets/kubectl') && !p.endsWith('/assets/kube-controller-manager'),
    );
    expect(b).toEqual({
      etcd: '/assets/etcd',
      kubeApiserver: '/assets/kube-apiserver',
      kubeControllerManager: '/c/bin/kubernetes-v1.35.4/kube-controller-manager',
      kubectl: '/c/bin/kubernetes-v1.35.4/kubectl',
      source: 'KUBEBUILDER_ASSETS',
    });
  });

  it('says what KUBEBUILDER_ASSETS lacks', () => {
    expect(() =>
      locateBinaries({ KUBEBUILDER_ASSETS: '/assets' }, (p) => p.endsWith('etcd')),
    ).toThrow(
      'KUBEBUILDER_ASSETS=/assets lacks kube-apiserver; unset it to build the binaries instead',
    );
  });

  it('otherwise uses the cache keyed by version', () => {
    expect(locateBinaries({ VMPLANE_CACHE_DIR: '/c' }, () => false)).toEqual({
      etcd: '/c/bin/etcd-v3.6.16/etcd',
      kubeApiserver: '/c/bin/kubernetes-v1.35.4/kube-apiserver',
      kubeControllerManager: '/c/bin/kubernetes-v1.35.4/kube-controller-manager',
      kubectl: '/c/bin/kubernetes-v1.35.4/kubectl',
      source: 'cache',
    });
  });
});
