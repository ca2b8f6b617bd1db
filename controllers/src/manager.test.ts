import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { CACHED_PATHS, ClusterCache } from '../../kube/src/cache.ts';
import { diskController } from './disk/controller.ts';
import { storageProfileController } from './storage/controller.ts';
import { vmController } from './vm/controller.ts';
import { Manager } from '../../kube/src/manager.ts';

function manager(): Manager {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  const m = new Manager({ kc, logger: pino({ level: 'silent' }) });
  m.add(storageProfileController(m));
  m.add(diskController(m));
  m.add(vmController(m));
  return m;
}

describe('controller manager', () => {
  it('keeps one informer per collection, shared by every controller', () => {
    const m = manager();
    const before = m.informerCount;
    expect(m.informer(CACHED_PATHS.vms)).toBe(m.informer(CACHED_PATHS.vms));
    expect(m.informerCount).toBe(before);
  });

  it('lets the policy audit read the same informers instead of keeping copies', () => {
    const m = manager();
    const before = m.informerCount;
    new ClusterCache(m.kc, { informers: (path) => m.informer(path) });
    // Only what the controllers do not watch themselves is added: namespaces, policies, exceptions.
    expect(m.informerCount).toBe(before + 3);
  });
});
