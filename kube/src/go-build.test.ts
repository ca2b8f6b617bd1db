import { describe, expect, it } from 'vitest';
import { cacheRoot, kubernetesLdflags } from './go-build.ts';

describe('builds of Kubernetes modules', () => {
  it('stamps the version so /version does not say v0.0.0', () => {
    const f = kubernetesLdflags('1.35.4');
    expect(f).toContain('-X k8s.io/component-base/version.gitVersion=v1.35.4');
    expect(f).toContain('-X k8s.io/component-base/version.gitMinor=35');
    expect(f).toContain('-X k8s.io/client-go/pkg/version.gitVersion=v1.35.4');
  });

  it('caches per user, overridable', () => {
    expect(cacheRoot({ HOME: '/home/a' })).toMatch(/\/\.cache\/vmplane$/);
    expect(cacheRoot({ XDG_CACHE_HOME: '/x' })).toBe('/x/vmplane');
    expect(cacheRoot({ VMPLANE_CACHE_DIR: '/y', XDG_CACHE_HOME: '/x' })).toBe('/y');
  });
});
