// The webhook keeps answering when kube-apiserver restarts, and its caches catch up with what
// changed meanwhile. Uses a private control plane, since restarting the shared one would disturb
// other tests.
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../api/src/paths.ts';
import { ensureBinaries } from '../../harness/src/controlplane/binaries.ts';
import { ControlPlane } from '../../harness/src/controlplane/controlplane.ts';
import { installCrds, kubeConfigFrom, waitUntil } from '../../kube/src/client.ts';
import { ApiError, KubeRest } from '../../kube/src/rest.ts';
import { startWebhooks, type RunningWebhooks } from '../../webhooks/src/main.ts';
import { API_VERSION } from '../../api/src/wellknown.ts';
import { vm as buildVm } from '../support/builders.ts';

const V = API_VERSION;
let cp: ControlPlane;
let rest: KubeRest;
let webhooks: RunningWebhooks;
const cacheErrors: string[] = [];

beforeAll(async () => {
  cp = new ControlPlane({
    binaries: await ensureBinaries(),
    tempPrefix: `vmplane-test-${process.env.VMPLANE_RUN_ID ?? 'x'}-restart-`,
  });
  const ep = await cp.start();
  const kc = kubeConfigFrom(ep.kubeconfigPath);
  await installCrds(kc, join(REPO_ROOT, 'charts/vmplane/crds'));
  rest = new KubeRest(kc);
  await rest.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
  await rest.create({
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: {
      name: 'local',
      annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
    },
    provisioner: 'rancher.io/local-path',
  });
  await rest.create({
    apiVersion: V,
    kind: 'ClusterVirtualMachineImage',
    metadata: { name: 'ubuntu' },
    spec: { source: { http: { url: 'https://x/u.img' } }, size: '1Gi' },
  });
  await rest.create({
    apiVersion: V,
    kind: 'VirtualMachineClass',
    metadata: { name: 'before' },
    spec: { hardware: { cpus: 1, memory: '1Gi' } },
  });
  const logger = pino({ level: 'warn' }, { write: (l: string) => void cacheErrors.push(l) });
  webhooks = await startWebhooks({
    kc,
    namespace: 'vmplane-system',
    register: { endpoint: 'self' },
    logger,
  });
}, 180_000);

afterAll(async () => {
  await webhooks?.stop();
  rest?.close();
  await cp?.stop();
});

const vm = (name: string, className: string): Parameters<KubeRest['create']>[0] =>
  buildVm(
    name,
    { className, image: { name: 'ubuntu' } },
    { namespace: 'team' },
  ) as unknown as Parameters<KubeRest['create']>[0];

describe('when kube-apiserver restarts', () => {
  it('the webhook keeps answering and its caches resync', async () => {
    await rest.create(vm('a', 'before'));
    await cp.restartApiServer();
    // The restart broke every watch; the caches noticed and are restarting them.
    await waitUntil(
      'a cache to report its broken watch',
      async () => cacheErrors.some((l) => l.includes('cache watch failed')),
      30_000,
    );

    // A class created after the restart reaches the cache only if its watch recovered.
    await rest.create({
      apiVersion: V,
      kind: 'VirtualMachineClass',
      metadata: { name: 'after' },
      spec: { hardware: { cpus: 2, memory: '2Gi' } },
    });
    await waitUntil(
      'the cache to see the new class',
      async () => webhooks.cache.vmClass('after'),
      30_000,
    );

    const created = await rest.create<{ spec: { powerState: string } }>(vm('b', 'after'));
    expect(created.spec.powerState).toBe('PoweredOn'); // mutated, so the webhook was called
    try {
      await rest.create(vm('c', 'nope'));
      throw new Error('accepted');
    } catch (e) {
      expect(e).toBeInstanceOf(ApiError);
      expect((e as ApiError).message).toContain(
        'class "nope" does not exist; available in namespace "team": after, before',
      );
    }
    expect(webhooks.server.ready).toBe(true);
  }, 120_000);
});
