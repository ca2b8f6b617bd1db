// The set-up the VM and disk controller tests share (test/controllers/vm-*.test.ts): a real API
// server with KubeVirt's and CDI's CRDs and a deployed KubeVirt CR, a namespace of the file's own,
// two classes and a cluster image named with the file's suffix, and vmplane's controllers running
// in that namespace. KubeVirt cannot run here, so the tests play the engine: they write the status
// KubeVirt and CDI would write. Each test file calls startVmControllers() once; `ns`, `rest` and
// `controllers` are set by its beforeAll (read them inside tests, not at import).
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { API_VERSION } from '../../api/src/wellknown.ts';
import { waitUntil } from '../../kube/src/client.ts';
import { KubeRest } from '../../kube/src/rest.ts';
import { getLive } from '../../kube/src/ownership.ts';
import { startControllers, type RunningControllers } from '../../controllers/src/main.ts';
import { vm as buildVm } from './builders.ts';
import { createNamespace, kubeConfig } from './cluster.ts';
import { deployKubeVirt, installEngineCrds } from './kubevirt.ts';

/** Ends the names of the file's cluster-wide objects (classes, images, policies). */
export const suffix = randomBytes(3).toString('hex');
export let ns = '';
export let rest: KubeRest;
export let controllers: RunningControllers;

export type Obj = {
  metadata: { name: string; resourceVersion?: string; finalizers?: string[] };
  spec: Record<string, any>;
  status?: Record<string, any>;
};

/** Registers the file's beforeAll (cluster, namespace, classes, image, controllers) and afterAll. */
export function startVmControllers(): void {
  beforeAll(async () => {
    rest = new KubeRest(kubeConfig());
    await installEngineCrds(kubeConfig());
    await deployKubeVirt(kubeConfig());
    ns = await createNamespace('ctl');
    await createClassesAndImage();
    controllers = await startControllers({
      kc: kubeConfig(),
      scope: { namespaces: [ns] },
      logger: pino(
        { level: process.env.CTL_LOG ? 'debug' : 'silent' },
        process.env.CTL_LOG ? pino.destination(process.env.CTL_LOG) : undefined,
      ),
    });
  }, 60_000);

  afterAll(async () => {
    await controllers.stop();
    rest.close();
  });
}

/** small-<suffix> (2 vCPUs, 4Gi, BestEffort), medium-<suffix> (4, 8Gi, Guaranteed), ubuntu-<suffix>. */
async function createClassesAndImage(): Promise<void> {
  await rest.create({
    apiVersion: API_VERSION,
    kind: 'VirtualMachineClass',
    metadata: { name: `small-${suffix}` },
    spec: { hardware: { cpus: 2, memory: '4Gi' }, reservation: 'BestEffort' },
  });
  await rest.create({
    apiVersion: API_VERSION,
    kind: 'VirtualMachineClass',
    metadata: { name: `medium-${suffix}` },
    spec: { hardware: { cpus: 4, memory: '8Gi' }, reservation: 'Guaranteed' },
  });
  await rest.create({
    apiVersion: API_VERSION,
    kind: 'ClusterVirtualMachineImage',
    metadata: { name: `ubuntu-${suffix}` },
    spec: { source: { http: { url: 'https://example.com/u.img' } }, size: '10Gi' },
  });
}

export const vmPath = (name: string): string =>
  `/apis/${API_VERSION}/namespaces/${ns}/virtualmachines/${name}`;
export const kvPath = (name: string): string =>
  `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines/${name}`;
export const get = (path: string): Promise<Obj | undefined> => getLive<Obj>(rest, path);
export const until = <T>(what: string, probe: () => Promise<T | undefined | false>): Promise<T> =>
  waitUntil(what, probe as () => Promise<T | undefined>, 30_000, 100);
export const merge = (path: string, body: unknown): Promise<unknown> =>
  rest.request('PATCH', path, { body, contentType: 'application/merge-patch+json' });
export const condition = (
  o: Obj | undefined,
  type: string,
): { status: string; reason: string; message: string } | undefined =>
  o?.status?.conditions?.find((cond: { type: string }) => cond.type === type);

/** A VM in the file's namespace: class small, the cluster image, a 20Gi boot disk, powered on. */
export function vm(
  name: string,
  spec: Record<string, unknown> = {},
): Parameters<KubeRest['create']>[0] {
  return buildVm(
    name,
    {
      className: `small-${suffix}`,
      image: { kind: 'ClusterVirtualMachineImage', name: `ubuntu-${suffix}` },
      bootDisk: {
        size: '20Gi',
        storageClassName: 'ceph',
        accessModes: ['ReadWriteMany'],
        volumeMode: 'Block',
      },
      powerState: 'PoweredOn',
      ...spec,
    },
    { namespace: ns },
  ) as unknown as Parameters<KubeRest['create']>[0];
}
