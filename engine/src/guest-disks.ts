// virt-handler's disks for an instance: each volume's claim (a DataVolume's is the claim of its
// name), as the API server has it now, and the file of the PersistentVolume bound to it
// (storage/claim-disk.ts decides). A WaitForFirstConsumer claim not bound yet is given this node,
// as the scheduler's VolumeBinding plugin would (KubeVirt v1.7.0 leaves that to the scheduler once
// the launcher pod exists); the engine's provisioner then makes its volume.
import { existsSync, statSync } from 'node:fs';
import { getLive } from '../../kube/src/ownership.ts';
import { isNotFound } from '../../kube/src/rest.ts';
import { type EngineContext, type KvVmi } from './engine-context.ts';
import type { QemuSpec } from './qemu.ts';
import { claimDisk, type ClaimDisk } from './storage/claim-disk.ts';
import {
  ANN_SELECTED_NODE,
  type Claim,
  type StorageClass,
  type Volume,
} from './storage/volume-file.ts';
import {
  planDisks,
  volumeRef,
  type DiskFile,
  type VolumeRef,
  type VolumeWaiting,
} from './volumes.ts';

const claimPath = (ns: string, name: string): string =>
  `/api/v1/namespaces/${ns}/persistentvolumeclaims/${name}`;

/** Gives a WaitForFirstConsumer claim the node (the scheduler's selected-node annotation). */
async function selectNode(
  ctx: EngineContext,
  ns: string,
  claim: Claim,
  node: string,
): Promise<void> {
  await ctx.manager.rest
    .request('PATCH', claimPath(ns, claim.metadata?.name ?? ''), {
      body: {
        metadata: {
          annotations: { [ANN_SELECTED_NODE]: node },
          resourceVersion: claim.metadata?.resourceVersion,
        },
      },
      contentType: 'application/merge-patch+json',
    })
    .catch((e) => {
      // Gone or changed meanwhile: the next pass looks again.
      if (!isNotFound(e) && (e as { code?: number }).code !== 409) throw e;
    });
}

/** The disk behind a volume, as the API server has its objects now. */
async function lookupVolume(
  ctx: EngineContext,
  ns: string,
  ref: VolumeRef,
  node: string,
): Promise<ClaimDisk> {
  const rest = ctx.manager.rest;
  const dataVolume =
    ref.kind === 'dataVolume'
      ? await getLive<{ status?: { phase?: string } }>(
          rest,
          `/apis/cdi.kubevirt.io/v1beta1/namespaces/${ns}/datavolumes/${ref.name}`,
        )
      : undefined;
  if (ref.kind === 'dataVolume' && dataVolume?.status?.phase !== 'Succeeded')
    return claimDisk({ ...base(ctx, ns, ref, node), ...(dataVolume ? { dataVolume } : {}) });
  const claim = await getLive<Claim>(rest, claimPath(ns, ref.name));
  const cls = claim?.spec?.storageClassName
    ? await getLive<StorageClass>(
        rest,
        `/apis/storage.k8s.io/v1/storageclasses/${claim.spec.storageClassName}`,
      )
    : undefined;
  const pv = claim?.spec?.volumeName
    ? await getLive<Volume>(rest, `/api/v1/persistentvolumes/${claim.spec.volumeName}`)
    : undefined;
  const got = claimDisk({
    ...base(ctx, ns, ref, node),
    ...(dataVolume ? { dataVolume } : {}),
    ...(claim ? { claim } : {}),
    ...(cls ? { cls } : {}),
    ...(pv ? { pv } : {}),
  });
  if (got.kind === 'waiting' && got.selectNode && claim) await selectNode(ctx, ns, claim, node);
  return got;
}

const base = (ctx: EngineContext, namespace: string, ref: VolumeRef, node: string) => ({
  kind: ref.kind,
  namespace,
  name: ref.name,
  fileExists: existsSync,
  sizeOf: (path: string) => statSync(path).size,
  library: ctx.options.library ?? [],
  node,
});

/** The disks of the instance: the files of their bound volumes, or why the instance waits. */
export async function prepareDisks(
  ctx: EngineContext,
  vmi: KvVmi,
  /** The node the instance was placed on (a WaitForFirstConsumer claim is provisioned there). */
  node: string,
): Promise<
  { ok: true; disks: DiskFile[] } | { ok: false; missingClaim?: string; waiting?: VolumeWaiting }
> {
  const ns = vmi.metadata?.namespace ?? '';
  const found = new Map<string, ClaimDisk>();
  for (const v of vmi.spec.volumes ?? []) {
    const ref = volumeRef(v);
    if (ref) found.set(`${ref.kind}/${ref.name}`, await lookupVolume(ctx, ns, ref, node));
  }
  const plan = planDisks(vmi.spec.volumes ?? [], (r) => {
    const got = found.get(`${r.kind}/${r.name}`);
    if (got?.kind === 'disk') return got.disk;
    return got?.kind === 'waiting' ? got.waiting : undefined;
  });
  if (!plan.ok)
    return 'missingClaim' in plan
      ? { ok: false, missingClaim: `${ns}/${plan.missingClaim}` }
      : { ok: false, waiting: { waiting: plan.waiting, ...(plan.noPod ? { noPod: true } : {}) } };
  return { ok: true, disks: plan.disks };
}

/** QEMU's disks in the format of their files (volumes are raw: storage/volume-file.ts). */
export function withVolumeFormats(spec: QemuSpec, disks: readonly DiskFile[]): QemuSpec {
  if (!spec.disks) return spec;
  return {
    ...spec,
    // By volume name: the command may hold disks of its own (a cloud-init seed).
    disks: spec.disks.map((q) => ({
      ...q,
      format: disks.find((d) => d.volume === q.name)?.format ?? q.format,
    })),
  };
}
