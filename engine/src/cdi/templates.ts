// virt-controller's part with DataVolumes: it makes them from a VM's templates (controlled by the
// VM) and reads how they are doing (the engine's CDI controller, ./controller.ts, fills them). Where
// the cluster has no DataVolume API, the engine makes the template's disk itself (a blank disk or a
// copy-on-write disk over a library image). Follows KubeVirt v1.7.0's
// pkg/virt-controller/watch/vm/vm.go (handleDataVolumes) and pkg/storage/types/dv.go
// (HasDataVolumeErrors, HasDataVolumeProvisioning).
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { getLive } from '../../../kube/src/ownership.ts';
import type { VmView } from '../decide.ts';
import { createDisk } from '../disks.ts';
import { diskOverBudget, diskPath, type EngineContext, type KvVm } from '../engine-context.ts';
import { dataVolumeSource, type DataVolumeTemplate, type SourcePlan } from '../volumes.ts';

export const dvPath = (ns: string, name?: string): string =>
  `/apis/cdi.kubevirt.io/v1beta1/namespaces/${ns}/datavolumes${name ? `/${name}` : ''}`;

export interface DataVolume {
  metadata?: {
    uid?: string;
    ownerReferences?: { uid?: string; controller?: boolean }[];
    deletionTimestamp?: string;
  };
  status?: {
    phase?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

export const ownedBy = (dv: DataVolume | undefined, vm: KvVm): boolean =>
  !!dv?.metadata?.ownerReferences?.some((o) => o.controller && o.uid === vm.metadata?.uid);

type DvState = {
  state: NonNullable<VmView['dataVolumes']>;
  failure?: { reason: string; message: string };
};

/** Makes the disk file of a DataVolume from its source: blank, or over a library image. */
async function fill(
  ctx: EngineContext,
  path: string,
  source: Extract<SourcePlan, { ok: true }>,
): Promise<void> {
  mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
  rmSync(path, { force: true });
  await createDisk(
    {
      path,
      sizeBytes: Math.max(source.sizeBytes, 2 ** 20),
      ...(source.image?.path
        ? { backing: { path: source.image.path, format: source.image.format ?? 'raw' } }
        : {}),
    },
    ctx.options.qemuImg,
  );
}

/** How a DataVolume is doing, as KubeVirt reads it (HasDataVolumeErrors, handleDataVolumes). */
export function dataVolumeState(dv: DataVolume): DvState['state'] {
  const phase = dv.status?.phase ?? '';
  if (phase === 'Failed') return 'error';
  const running = dv.status?.conditions?.find((c) => c.type === 'Running');
  if (running?.status === 'False' && ['Error', 'ImagePullFailed'].includes(running.reason ?? ''))
    return 'error';
  if (['Succeeded', 'WaitForFirstConsumer', 'PendingPopulation'].includes(phase)) return 'ready';
  return 'provisioning';
}

/** A template's DataVolume as an object: made if missing, then read. */
async function provideObject(
  ctx: EngineContext,
  vm: KvVm,
  t: DataVolumeTemplate,
): Promise<DvState> {
  const ns = vm.metadata?.namespace ?? '';
  const name = t.metadata?.name ?? '';
  const dv = await getLive<DataVolume>(ctx.manager.rest, dvPath(ns, name));
  if (!dv) {
    await createDataVolume(ctx, vm, t);
    return { state: 'provisioning' };
  }
  if (!ownedBy(dv, vm))
    return {
      state: 'error',
      failure: {
        reason: 'FailedCreate',
        message: `DataVolume ${name} already exists and is not controlled by VirtualMachine ${vm.metadata?.name}`,
      },
    };
  return { state: dataVolumeState(dv) };
}

/**
 * Where the cluster has no DataVolume API (the sandbox installs no CDI), the engine fills the
 * template's disk itself, keyed by the VM's UID and the template's name; a source it cannot give
 * is the VM's Failure, as KubeVirt reports a DataVolume it could not make.
 */
async function provideFile(ctx: EngineContext, vm: KvVm, t: DataVolumeTemplate): Promise<DvState> {
  const name = t.metadata?.name ?? '';
  const source = dataVolumeSource(t.spec, ctx.options.library ?? []);
  if (!source.ok)
    return {
      state: 'error',
      failure: { reason: 'FailedCreate', message: `DataVolume ${name}: ${source.message}` },
    };
  const path = diskPath(ctx, templateDisk(vm.metadata?.uid ?? '', name));
  if (existsSync(path)) return { state: 'ready' };
  const over = diskOverBudget(ctx, source.sizeBytes, path);
  if (over)
    return {
      state: 'error',
      failure: { reason: 'FailedCreate', message: `DataVolume ${name}: ${over}` },
    };
  await fill(ctx, path, source);
  return { state: 'ready' };
}

/** The disk of a template where there is no DataVolume object: the VM's UID and the name. */
export const templateDisk = (vmUid: string, name: string): { kind: 'dataVolume'; uid: string } => ({
  kind: 'dataVolume',
  uid: `${vmUid}-${name}`,
});

/** Whether the cluster serves CDI's DataVolumes (their CRD is there). */
export async function hasDataVolumeApi(ctx: EngineContext): Promise<boolean> {
  return !!(await getLive(
    ctx.manager.rest,
    '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/datavolumes.cdi.kubevirt.io',
  ));
}

/** The VM's DataVolumes from its templates: all ready, some provisioning, or one failed. */
export async function syncDataVolumes(ctx: EngineContext, vm: KvVm): Promise<DvState> {
  const templates = vm.spec.dataVolumeTemplates ?? [];
  if (!templates.length) return { state: 'ready' };
  const objects = await hasDataVolumeApi(ctx);
  const rank = { ready: 0, provisioning: 1, error: 2 };
  let worst: DvState = { state: 'ready' };
  for (const t of templates) {
    const got = objects ? await provideObject(ctx, vm, t) : await provideFile(ctx, vm, t);
    if (rank[got.state] > rank[worst.state]) worst = got;
  }
  return worst;
}

/** What virt-controller does with a template: a DataVolume controlled by the VM. */
async function createDataVolume(
  ctx: EngineContext,
  vm: KvVm,
  t: DataVolumeTemplate,
): Promise<void> {
  const ns = vm.metadata?.namespace ?? '';
  await ctx.manager.rest
    .request('POST', dvPath(ns), {
      body: {
        apiVersion: 'cdi.kubevirt.io/v1beta1',
        kind: 'DataVolume',
        metadata: {
          ...t.metadata,
          namespace: ns,
          ownerReferences: [ownerRef(vm)],
        },
        spec: t.spec,
      },
    })
    .catch((e) => {
      // Made meanwhile (by an earlier pass): the next pass reads it.
      if ((e as { code?: number }).code !== 409) throw e;
    });
}

export const ownerRef = (vm: KvVm): object => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  name: vm.metadata?.name,
  uid: vm.metadata?.uid,
  controller: true,
  blockOwnerDeletion: true,
});
