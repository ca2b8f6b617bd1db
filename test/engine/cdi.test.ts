// The engine playing CDI against a real API server with CDI's real CRDs and CDI's own admission:
// DataVolumes become claims, and once bound (by kube-controller-manager, to volumes the test makes
// for them) their files are filled for real: an http import from the library's loopback server (progress seen between 0 and 100, then Succeeded, the bytes equal
// to the image's by qemu-img compare), a blank disk, a clone carrying a marker; a source that
// cannot be had fails with CDI's reason and message and the VM shows DataVolumeError.
import { execFile } from 'node:child_process';
import { mkdtempSync, openSync, readSync, rmSync, statSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cdiController,
  ensureCdiCr,
  removeCdiCr,
  storageProfileController,
} from '../../engine/src/cdi/index.ts';
import { localEngine, type LocalEngine } from '../../engine/src/controller.ts';
import { NODE } from '../../engine/src/engine-context.ts';
import { ensureQcow2 } from '../../engine/src/library/qcow2.ts';
import { libraryUrl } from '../../engine/src/library/routes.ts';
import { startLibraryServer, type LibraryServer } from '../../engine/src/library/server.ts';
import { tinyLinuxLibrary, CDI_PLAYED } from '../../engine/src/main.ts';
import { volumeFile } from '../../engine/src/storage/volume-file.ts';
import { ensureTinyLinux } from '../../engine/src/tiny-linux.ts';
import { waitUntil } from '../../kube/src/client.ts';
import { cacheRoot } from '../../kube/src/go-build.ts';
import { Manager } from '../../kube/src/manager.ts';
import { getLive } from '../../kube/src/ownership.ts';
import { KubeRest } from '../../kube/src/rest.ts';
import { createNamespace, kubeConfig } from '../support/cluster.ts';
import { kubevirtVm } from '../support/engine.ts';
import { installEngineCrds } from '../support/kubevirt.ts';

const run = promisify(execFile);
type Obj = {
  metadata: Record<string, any>;
  spec: Record<string, any>;
  status?: Record<string, any>;
};

let rest: KubeRest;
let manager: Manager;
let engine: LocalEngine;
let library: LibraryServer;
let ns = '';
let stateDir = '';
let image = '';
const pvs: string[] = [];
const cls = `cdi-test-${process.pid}`;
const PROVISIONER = 'cdi-test.local-engine.vmplane.io';
const dvPath = (name = ''): string =>
  `/apis/cdi.kubevirt.io/v1beta1/namespaces/${ns}/datavolumes${name ? `/${name}` : ''}`;
const pvcPath = (name: string): string => `/api/v1/namespaces/${ns}/persistentvolumeclaims/${name}`;
const until = <T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  ms = 90_000,
): Promise<T> => waitUntil(what, probe as () => Promise<T | undefined>, ms, 100);

beforeAll(async () => {
  rest = new KubeRest(kubeConfig());
  await installEngineCrds(kubeConfig());
  ns = await createNamespace('cdi');
  stateDir = mkdtempSync(
    join(tmpdir(), `vmplane-test-${process.env.VMPLANE_RUN_ID ?? 'local'}-cdi-`),
  );
  const tiny = await ensureTinyLinux(cacheRoot(), () => undefined);
  image = await ensureQcow2(tiny.disk);
  // Slow enough that the import is seen in progress (about four seconds).
  library = await startLibraryServer({
    images: [{ name: 'tiny-linux', path: image, format: 'qcow2' }],
    bytesPerSecond: Math.max(Math.ceil(statSync(image).size / 4), 64 * 1024),
  });
  await rest.create({
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: cls },
    provisioner: PROVISIONER,
    volumeBindingMode: 'Immediate',
  } as never);
  manager = new Manager({
    kc: kubeConfig(),
    logger: pino({ level: 'silent' }),
    scope: (o) => o.metadata?.namespace === ns,
  });
  engine = localEngine(manager, {
    stateDir,
    image: tiny,
    library: [tinyLinuxLibrary(tiny)],
    memoryCapBytes: 256 * 2 ** 20,
    memoryBudgetBytes: () => 8 * 2 ** 30,
    maxGraceMs: 1_000,
  });
  manager.add(engine.definition);
  const cdi = cdiController(manager, {
    stateDir,
    library: {
      endpoint: library,
      images: [{ name: 'tiny-linux', path: image, format: 'qcow2', kernelBoot: true }],
    },
    provisioners: [PROVISIONER],
  });
  manager.add(cdi.definition);
  manager.add(storageProfileController(manager, [PROVISIONER], (n) => n === cls));
  await manager.start();
}, 300_000);

afterAll(async () => {
  await manager?.stop();
  await engine?.stopAll();
  await library?.close();
  await rest
    ?.request('DELETE', `/apis/storage.k8s.io/v1/storageclasses/${cls}`)
    .catch(() => undefined);
  await rest
    ?.request('DELETE', `/apis/cdi.kubevirt.io/v1beta1/storageprofiles/${cls}`)
    .catch(() => undefined);
  await rest?.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
  for (const pv of pvs)
    await rest?.request('DELETE', `/api/v1/persistentvolumes/${pv}`).catch(() => undefined);
  rest?.close();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

/**
 * A volume made for the claim (static provisioning, until the engine's provisioner is on this
 * branch): a PV whose claimRef names it; kube-controller-manager's binder binds them.
 */
async function bind(name: string): Promise<string> {
  const pvc = await until(`claim ${name}`, () => getLive<Obj>(rest, pvcPath(name)));
  const pvName = `cdi-test-${pvc.metadata.uid}`;
  await rest.create({
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: pvName },
    spec: {
      capacity: { storage: pvc.spec.resources.requests.storage },
      accessModes: pvc.spec.accessModes,
      volumeMode: pvc.spec.volumeMode ?? 'Filesystem',
      storageClassName: cls,
      persistentVolumeReclaimPolicy: 'Retain',
      claimRef: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        namespace: ns,
        name,
        uid: pvc.metadata.uid,
      },
      local: { path: join(stateDir, 'volumes', pvName) },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            {
              matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [NODE] }],
            },
          ],
        },
      },
    },
  } as never);
  pvs.push(pvName);
  await until(`claim ${name} Bound by kube-controller-manager`, async () =>
    (await getLive<Obj>(rest, pvcPath(name)))?.status?.phase === 'Bound' ? true : undefined,
  );
  const pv = await getLive<Obj>(rest, `/api/v1/persistentvolumes/${pvName}`);
  return volumeFile(pv as never) ?? '';
}

const dataVolume = (name: string, source: object, size = '64Mi'): object => ({
  apiVersion: 'cdi.kubevirt.io/v1beta1',
  kind: 'DataVolume',
  metadata: { name, namespace: ns },
  spec: { source, storage: { storageClassName: cls, resources: { requests: { storage: size } } } },
});

const dv = (name: string): Promise<Obj | undefined> => getLive<Obj>(rest, dvPath(name));
const cond = (d: Obj | undefined, type: string): Record<string, string> | undefined =>
  d?.status?.conditions?.find((c: { type: string }) => c.type === type);

async function events(name: string): Promise<string[]> {
  const list = await rest.request<{
    items: { reason: string; involvedObject: { name: string; kind: string } }[];
  }>('GET', `/api/v1/namespaces/${ns}/events`);
  return list.body.items
    .filter((e) => e.involvedObject.kind === 'DataVolume' && e.involvedObject.name === name)
    .map((e) => e.reason);
}

describe('the engine playing CDI', () => {
  it('publishes a StorageProfile for the class: the played provisioner’s claim property sets', async () => {
    const p = await until('storage profile', async () => {
      const got = await getLive<Obj>(rest, `/apis/cdi.kubevirt.io/v1beta1/storageprofiles/${cls}`);
      return got?.status?.claimPropertySets ? got : undefined;
    });
    expect(p.status).toMatchObject({
      storageClass: cls,
      provisioner: PROVISIONER,
      claimPropertySets: [
        { accessModes: ['ReadWriteOnce'], volumeMode: 'Filesystem' },
        { accessModes: ['ReadWriteOnce'], volumeMode: 'Block' },
      ],
    });
  });

  it('imports over http from the library: the claim as CDI makes it, progress between 0 and 100, then Succeeded with the image’s bytes', async () => {
    await rest.create(
      dataVolume('imported', {
        http: { url: libraryUrl({ name: 'tiny-linux', format: 'qcow2' }) },
      }) as never,
    );
    const pending = await until('Pending', async () =>
      (await dv('imported'))?.status?.phase === 'Pending' ? dv('imported') : undefined,
    );
    expect(cond(pending, 'Bound')).toMatchObject({
      status: 'False',
      reason: 'Pending',
      message: 'PVC imported Pending',
    });
    const file = await bind('imported');
    const pvc = (await getLive<Obj>(rest, pvcPath('imported')))!;
    expect(pvc.metadata.annotations).toMatchObject({
      'cdi.kubevirt.io/storage.import.endpoint':
        'http://images.local-engine.invalid/tiny-linux.qcow2',
      'cdi.kubevirt.io/storage.import.source': 'http',
      'cdi.kubevirt.io/storage.contentType': 'kubevirt',
      'local-engine.vmplane.io/kernel-from': 'tiny-linux',
    });
    expect(pvc.metadata.ownerReferences).toMatchObject([
      { kind: 'DataVolume', name: 'imported', controller: true },
    ]);
    expect(pvc.spec.accessModes).toEqual(['ReadWriteOnce']);
    expect(pvc.spec.volumeMode).toBe('Filesystem');
    const seen = await until('progress between 0 and 100', async () => {
      const d = await dv('imported');
      const pct = Number.parseFloat(d?.status?.progress ?? '');
      return d?.status?.phase === 'ImportInProgress' && pct > 0 && pct < 100 ? d : undefined;
    });
    expect(seen.status?.progress).toMatch(/^\d+\.\d\d%$/);
    expect(cond(seen, 'Running')).toMatchObject({ status: 'True' });
    const done = await until('Succeeded', async () =>
      (await dv('imported'))?.status?.phase === 'Succeeded' ? dv('imported') : undefined,
    );
    expect(done.status).toMatchObject({ progress: '100.0%', claimName: 'imported' });
    expect(cond(done, 'Ready')).toMatchObject({ status: 'True' });
    expect(cond(done, 'Running')).toMatchObject({
      status: 'False',
      reason: 'Completed',
      message: 'Import Complete',
    });
    await run('qemu-img', ['compare', '-f', 'qcow2', '-F', 'raw', image, file]);
    await until('events', async () =>
      (await events('imported')).includes('ImportSucceeded') ? true : undefined,
    );
    expect(await events('imported')).toEqual(
      expect.arrayContaining(['Bound', 'ImportInProgress', 'ImportSucceeded']),
    );
  });

  it('makes a blank disk: a sparse raw file of the claim’s usable size', async () => {
    await rest.create(dataVolume('blank', { blank: {} }) as never);
    const file = await bind('blank');
    await until('Succeeded', async () =>
      (await dv('blank'))?.status?.phase === 'Succeeded' ? true : undefined,
    );
    const st = statSync(file);
    expect(st.size).toBe(64 * 2 ** 20);
    expect(st.blocks * 512).toBeLessThan(2 ** 20);
  });

  it('clones a claim: the marker written in the source is in the clone, and its kernel comes along', async () => {
    const source = volumeFile(
      (await getLive<Obj>(
        rest,
        `/api/v1/persistentvolumes/${(await getLive<Obj>(rest, pvcPath('imported')))!.spec.volumeName}`,
      )) as never,
    )!;
    const marker = Buffer.from(`vmplane-clone-marker-${process.pid}`);
    const fd = openSync(source, 'r+');
    writeSync(fd, marker, 0, marker.length, 40 * 2 ** 20);
    closeSync(fd);
    await rest.create(dataVolume('cloned', { pvc: { namespace: ns, name: 'imported' } }) as never);
    const file = await bind('cloned');
    const phases = new Set<string>();
    const done = await until('clone Succeeded', async () => {
      const d = await dv('cloned');
      if (d?.status?.phase) phases.add(d.status.phase);
      return d?.status?.phase === 'Succeeded' ? d : undefined;
    });
    expect(done.status?.progress).toBe('100.0%');
    expect(await events('cloned')).toEqual(expect.arrayContaining(['CloneSucceeded']));
    const got = Buffer.alloc(marker.length);
    const rd = openSync(file, 'r');
    readSync(rd, got, 0, got.length, 40 * 2 ** 20);
    closeSync(rd);
    expect(got.toString()).toBe(marker.toString());
    const pvc = (await getLive<Obj>(rest, pvcPath('cloned')))!;
    expect(pvc.metadata.annotations['k8s.io/CloneRequest']).toBe(`${ns}/imported`);
    expect(pvc.metadata.annotations['local-engine.vmplane.io/kernel-from']).toBe('tiny-linux');
  });

  it('fails an import from another host or a missing image with CDI’s reason and message, and the VM shows DataVolumeError', async () => {
    await rest.create(
      dataVolume('elsewhere', { http: { url: 'http://example.com/disk.qcow2' } }) as never,
    );
    await bind('elsewhere');
    const far = await until('Running=False Error', async () => {
      const d = await dv('elsewhere');
      return cond(d, 'Running')?.reason === 'Error' ? d : undefined;
    });
    expect(far.status?.phase).toBe('ImportInProgress');
    expect(cond(far, 'Running')?.message).toMatch(
      /^Unable to connect to http data source: HTTP request errored: Get "http:\/\/example.com\/disk.qcow2": dial tcp: lookup example.com: no such host/,
    );
    expect(cond(far, 'Ready')?.status).toBe('False');
    expect(far.status?.restartCount).toBe(1);
    await rest.create(
      kubevirtVm(
        ns,
        'missing',
        {
          dataVolumeTemplates: [
            {
              metadata: { name: 'missing-root' },
              spec: {
                source: { http: { url: 'http://images.local-engine.invalid/no-such-image.qcow2' } },
                storage: { storageClassName: cls, resources: { requests: { storage: '64Mi' } } },
              },
            },
          ],
        },
        { volumes: [{ name: 'root', dataVolume: { name: 'missing-root' } }] },
      ) as never,
    );
    await bind('missing-root');
    const missing = await until('404', async () => {
      const d = await dv('missing-root');
      return cond(d, 'Running')?.reason === 'Error' ? d : undefined;
    });
    expect(cond(missing, 'Running')?.message).toBe(
      'Unable to connect to http data source: expected status code 200, got 404. Status: 404 Not Found',
    );
    const vm = await until('DataVolumeError', async () => {
      const v = await getLive<Obj>(
        rest,
        `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines/missing`,
      );
      return v?.status?.printableStatus === 'DataVolumeError' ? v : undefined;
    });
    expect(vm.status?.printableStatus).toBe('DataVolumeError');
    expect(
      await getLive(rest, `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances/missing`),
    ).toBeUndefined();
  });

  it('publishes a CDI CR in phase Deployed when the cluster has none, and removes only its own', async () => {
    // The CRD was just established: the API server may still be starting its storage (429).
    const made = await until('the CDI CR', () =>
      ensureCdiCr(rest, CDI_PLAYED).then(
        (m) => ({ m }),
        () => undefined,
      ),
    ).then((r) => r.m);
    const cr = await getLive<Obj>(rest, '/apis/cdi.kubevirt.io/v1beta1/cdis/cdi');
    expect(cr?.status?.phase).toBe('Deployed');
    if (made) {
      await removeCdiCr(rest);
      expect(await getLive(rest, '/apis/cdi.kubevirt.io/v1beta1/cdis/cdi')).toBeUndefined();
    }
  });
});
