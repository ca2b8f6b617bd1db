// virt-handler's disks for an instance: the claim or DataVolume behind each volume as the API
// server has it now, the claim disks made or grown (within the disk budget), and claim disks
// whose claim is gone removed.
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { getLive } from '../../kube/src/ownership.ts';
import { hasDataVolumeApi, templateDisk } from './cdi/templates.ts';
import { createDisk, growDisk } from './disks.ts';
import {
  diskOverBudget,
  diskPath,
  type EngineContext,
  type KvVm,
  type KvVmi,
} from './engine-context.ts';
import {
  claimRequest,
  dataVolumeSource,
  planDisks,
  volumeRef,
  type DataVolumeSpec,
  type DiskFile,
  type LibraryImage,
  type VolumeObject,
} from './volumes.ts';

/** A claim, as the API server has it now. */
async function lookupClaim(
  ctx: EngineContext,
  ns: string,
  name: string,
): Promise<VolumeObject | undefined> {
  const pvc = await getLive<{ metadata?: { uid?: string }; spec?: { accessModes?: string[] } }>(
    ctx.manager.rest,
    `/api/v1/namespaces/${ns}/persistentvolumeclaims/${name}`,
  );
  if (!pvc?.metadata?.uid) return undefined;
  return {
    uid: pvc.metadata.uid,
    sizeBytes: claimRequest(pvc as never) ?? 0,
    accessModes: pvc.spec?.accessModes ?? [],
  };
}

/** The library image a DataVolume was made from, if any: it says how the guest boots. */
function imageOf(ctx: EngineContext, spec: DataVolumeSpec | undefined): { image?: LibraryImage } {
  const source = dataVolumeSource(spec, ctx.options.library ?? []);
  return source.ok && source.image ? { image: source.image } : {};
}

/** The claim or DataVolume behind a volume, as the API server has it now. */
async function lookupVolume(
  ctx: EngineContext,
  vmi: KvVmi,
  ref: { kind: 'dataVolume' | 'claim'; name: string },
): Promise<VolumeObject | undefined> {
  const ns = vmi.metadata?.namespace ?? '';
  if (ref.kind === 'claim') return lookupClaim(ctx, ns, ref.name);
  // A DataVolume the engine provided: its file is there once it is Succeeded.
  if (!(await hasDataVolumeApi(ctx))) {
    const owner = vmi.metadata?.ownerReferences?.find((o) => o.controller);
    const d = templateDisk(owner?.uid ?? '', ref.name);
    const vm = owner ? (ctx.vms.get(owner.name, ns) as KvVm | undefined) : undefined;
    const t = vm?.spec.dataVolumeTemplates?.find((x) => x.metadata?.name === ref.name);
    return existsSync(diskPath(ctx, d))
      ? { uid: d.uid, sizeBytes: 0, ...imageOf(ctx, t?.spec) }
      : undefined;
  }
  const dv = await getLive<{
    metadata?: { uid?: string };
    spec?: DataVolumeSpec;
    status?: { phase?: string };
  }>(ctx.manager.rest, `/apis/cdi.kubevirt.io/v1beta1/namespaces/${ns}/datavolumes/${ref.name}`);
  if (!dv?.metadata?.uid || dv.status?.phase !== 'Succeeded') return undefined;
  const path = diskPath(ctx, { kind: 'dataVolume', uid: dv.metadata.uid });
  return existsSync(path)
    ? { uid: dv.metadata.uid, sizeBytes: 0, ...imageOf(ctx, dv.spec) }
    : undefined;
}

/**
 * Claim disks go with their claims: a file whose claim no longer exists (its UID is gone) is
 * removed, unless a running guest still has it open.
 */
async function sweepClaimDisks(ctx: EngineContext): Promise<void> {
  const dir = join(ctx.options.stateDir, 'claims');
  if (!existsSync(dir)) return;
  const list = await ctx.manager.rest.request<{ items: { metadata?: { uid?: string } }[] }>(
    'GET',
    '/api/v1/persistentvolumeclaims',
  );
  const live = new Set(list.body.items.map((c) => `${c.metadata?.uid}.qcow2`));
  const open = new Set(
    [...ctx.running.values()].flatMap((r) => r.claimFiles ?? []).map((f) => f.split('/').pop()),
  );
  for (const f of readdirSync(dir))
    if (f.endsWith('.qcow2') && !live.has(f) && !open.has(f)) rmSync(join(dir, f), { force: true });
}

/** The disks of the instance: claims get their file (made, or grown with the claim). */
export async function prepareDisks(
  ctx: EngineContext,
  vmi: KvVmi,
): Promise<
  { ok: true; disks: DiskFile[] } | { ok: false; missingClaim?: string; noRoom?: string }
> {
  const ns = vmi.metadata?.namespace ?? '';
  const volumes = vmi.spec.volumes ?? [];
  const found = new Map<string, VolumeObject | undefined>();
  for (const v of volumes) {
    const ref = volumeRef(v);
    if (ref) found.set(`${ref.kind}/${ref.name}`, await lookupVolume(ctx, vmi, ref));
  }
  const plan = planDisks(volumes, (r) => found.get(`${r.kind}/${r.name}`));
  if (!plan.ok) return { ok: false, missingClaim: `${ns}/${plan.missingClaim}` };
  if (plan.disks.some((d) => d.kind === 'claim')) await sweepClaimDisks(ctx);
  for (const d of plan.disks) {
    if (d.kind !== 'claim') continue;
    const path = diskPath(ctx, d);
    mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
    const size = Math.max(d.sizeBytes, 2 ** 20);
    const over = diskOverBudget(ctx, size, path);
    if (over) return { ok: false, noRoom: `claim ${ns}/${d.name}: ${over}` };
    if (!existsSync(path)) await createDisk({ path, sizeBytes: size }, ctx.options.qemuImg);
    else await growDisk(path, size, ctx.options.qemuImg);
  }
  return { ok: true, disks: plan.disks };
}
