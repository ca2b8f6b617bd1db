// The informer caches against the real API server: what they keep of each object, whether it
// came with the first list or with a watch event.
import type { KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../../kube/src/client.ts';
import { KubeRest } from '../../kube/src/rest.ts';
import { dropManagedFields, listInPages, ResilientInformer } from '../../kube/src/informer.ts';
import { Manager } from '../../kube/src/manager.ts';
import { createNamespace, kubeConfig } from '../support/cluster.ts';

type ConfigMap = KubernetesObject & { data?: Record<string, string> };
let ns = '';
let rest: KubeRest;
let informer: ResilientInformer<ConfigMap>;
const seen: ConfigMap[] = [];

beforeAll(async () => {
  rest = new KubeRest(kubeConfig());
  ns = await createNamespace('inf');
  await rest.create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'listed', namespace: ns },
    data: { a: '1' },
  } as never);
  informer = new ResilientInformer<ConfigMap>(kubeConfig(), {
    path: `/api/v1/namespaces/${ns}/configmaps`,
  });
  informer.on('add', (o) => seen.push(o));
  informer.on('update', (o) => seen.push(o));
  await informer.start();
  await informer.waitForSync();
});

afterAll(async () => {
  await informer?.stop();
  await rest?.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
  rest?.close();
});

describe('informer caches', () => {
  it('keep objects without managedFields, from the list and from watch events, and handlers see the same', async () => {
    const raw = (await rest.request<ConfigMap>('GET', `/api/v1/namespaces/${ns}/configmaps/listed`))
      .body;
    expect(raw.metadata?.managedFields?.length).toBeGreaterThan(0); // the API server sends them
    expect(informer.get('listed', ns)?.data).toEqual({ a: '1' });
    expect(informer.get('listed', ns)?.metadata?.managedFields).toBeUndefined();

    await rest.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'watched', namespace: ns },
      data: { b: '2' },
    } as never);
    await rest.request('PATCH', `/api/v1/namespaces/${ns}/configmaps/listed`, {
      body: { data: { a: '3' } },
      contentType: 'application/merge-patch+json',
    });
    await waitUntil(
      'the watch events',
      async () =>
        informer.get('watched', ns) && informer.get('listed', ns)?.data?.a === '3'
          ? true
          : undefined,
      10_000,
    );
    for (const name of ['watched', 'listed'])
      expect(informer.get(name, ns)?.metadata?.managedFields).toBeUndefined();
    expect(informer.get('watched', ns)?.data).toEqual({ b: '2' });
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen.every((o) => o.metadata?.managedFields === undefined)).toBe(true);
  });

  it('keep CRDs without their schemas in the controllers, with their conditions', async () => {
    const m = new Manager({ kc: kubeConfig() });
    const crds = m.informer('/apis/apiextensions.k8s.io/v1/customresourcedefinitions');
    await crds.start();
    try {
      await crds.waitForSync();
      const raw = (
        await rest.request<{ spec: { versions: { schema?: unknown }[] } }>(
          'GET',
          '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/virtualmachines.vmplane.io',
        )
      ).body;
      expect(raw.spec.versions[0]?.schema).toBeDefined();
      const cached = crds.get('virtualmachines.vmplane.io') as unknown as {
        spec: { versions: { name: string; schema?: unknown }[] };
        status: { conditions: { type: string; status: string }[] };
      };
      expect(cached.spec.versions.map((v) => v.name)).toEqual(['v1alpha1']);
      expect(cached.spec.versions.every((v) => v.schema === undefined)).toBe(true);
      expect(cached.status.conditions).toContainEqual(
        expect.objectContaining({ type: 'Established', status: 'True' }),
      );
    } finally {
      await crds.stop();
      m.rest.close();
    }
  });
});

describe('lists in pages', () => {
  it('gathers every page of one snapshot, trimmed, with its resourceVersion', async () => {
    const pageNs = await createNamespace('pages');
    const r = new KubeRest(kubeConfig());
    try {
      for (let i = 0; i < 7; i++)
        await r.create({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `cm-${i}`, namespace: pageNs },
        } as never);
      const pages: string[] = [];
      const counting = Object.assign(
        Object.create(Object.getPrototypeOf(r) as object) as KubeRest,
        r,
      );
      counting.request = ((method: string, path: string, o?: never) => {
        pages.push(path);
        return r.request(method, path, o);
      }) as KubeRest['request'];
      const list = await listInPages<ConfigMap>(
        counting,
        `/api/v1/namespaces/${pageNs}/configmaps`,
        3,
        dropManagedFields,
      );
      const names = list.items.map((o) => o.metadata?.name).filter((n) => n?.startsWith('cm-'));
      expect(names).toEqual(['cm-0', 'cm-1', 'cm-2', 'cm-3', 'cm-4', 'cm-5', 'cm-6']);
      expect(list.items.every((o) => o.metadata?.managedFields === undefined)).toBe(true);
      expect(Number(list.metadata?.resourceVersion)).toBeGreaterThan(0);
      // 7 config maps plus the namespace's own kube-root-ca.crt (if any) in pages of 3.
      expect(pages.length).toBe(Math.ceil(list.items.length / 3));
      expect(pages.slice(1).every((p) => p.includes('continue='))).toBe(true);
    } finally {
      await r.request('DELETE', `/api/v1/namespaces/${pageNs}`).catch(() => undefined);
      r.close();
    }
  });
});

describe('label-scoped informers', () => {
  it('hold only labelled objects, from the list and the watch, and drop one whose label goes', async () => {
    const scopedNs = await createNamespace('scoped');
    const r = new KubeRest(kubeConfig());
    const cm = (name: string, labels?: Record<string, string>): never =>
      ({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name, namespace: scopedNs, ...(labels ? { labels } : {}) },
      }) as never;
    const mine = { 'app.kubernetes.io/managed-by': 'vmplane' };
    const m = new Manager({ kc: kubeConfig() });
    const path = `/api/v1/namespaces/${scopedNs}/configmaps`;
    try {
      await r.create(cm('ours-listed', mine));
      await r.create(cm('theirs-listed'));
      const scoped = m.informer<ConfigMap>(path, {
        labelSelector: 'app.kubernetes.io/managed-by=vmplane',
      });
      // The same path without a selector is another cache; with the same selector, the same one.
      expect(m.informer(path, { labelSelector: 'app.kubernetes.io/managed-by=vmplane' })).toBe(
        scoped,
      );
      expect(m.informer(path)).not.toBe(scoped);
      await scoped.start();
      await scoped.waitForSync();
      await r.create(cm('ours-watched', mine));
      await r.create(cm('theirs-watched'));
      await waitUntil('the labelled object from the watch', async () =>
        scoped.get('ours-watched', scopedNs),
      );
      const names = (): string[] =>
        scoped
          .list()
          .filter((o) => o.metadata?.namespace === scopedNs)
          .map((o) => o.metadata?.name ?? '')
          .sort();
      expect(names()).toEqual(['ours-listed', 'ours-watched']);
      // Taking the label off takes the object out of the cache.
      await r.request('PATCH', `${path}/ours-listed`, {
        body: { metadata: { labels: { 'app.kubernetes.io/managed-by': null } } },
        contentType: 'application/merge-patch+json',
      });
      await waitUntil('the unlabelled object gone', async () =>
        scoped.get('ours-listed', scopedNs) ? undefined : true,
      );
      expect(names()).toEqual(['ours-watched']);
      await scoped.stop();
    } finally {
      await r.request('DELETE', `/api/v1/namespaces/${scopedNs}`).catch(() => undefined);
      r.close();
    }
  });
});
