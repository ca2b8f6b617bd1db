// The engine as an external dynamic provisioner and resizer for the StorageClasses whose
// provisioner it plays (engine option `provisioners`). The protocol is sig-storage-lib-external-
// provisioner v10's controller.go: kube-controller-manager's binder hands a claim over with the
// `volume.kubernetes.io/storage-provisioner` annotation; the engine makes the volume's file and
// writes a PersistentVolume pre-bound to the claim (claimRef with its uid), which the binder then
// binds. A released volume reclaimed by deletion loses its file, the provisioner's finalizer, then
// its object. A bound claim asking for more than it has is grown as external-resizer v1.12
// (pkg/controller/controller.go) does: the file, the PV's capacity, then the claim's status.
// Events on the claim carry the provisioner's reasons (Provisioning, ProvisioningSucceeded,
// ProvisioningFailed; Resizing, VolumeResizeSuccessful, VolumeResizeFailed).
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ControllerDefinition } from '../../../kube/src/manager.ts';
import { objectKey } from '../../../kube/src/manager.ts';
import { getLive } from '../../../kube/src/ownership.ts';
import { RecentKeys } from '../../../kube/src/recent.ts';
import { isNotFound } from '../../../kube/src/rest.ts';
import { diskOverBudget, NODE, nodesOf, type EngineContext } from '../engine-context.ts';
import { growVolumeFile, makeVolumeFile, removeVolume } from './volume-files.ts';
import {
  claimProvisioner,
  expansionFor,
  provisionedVolume,
  PV_FINALIZER,
  releasedToDelete,
  requestBytes,
  shouldProvision,
  volumeFile,
  type Claim,
  type StorageClass,
  type Volume,
} from './volume-file.ts';

export const PVCS = '/api/v1/persistentvolumeclaims';
export const PVS = '/api/v1/persistentvolumes';
export const CLASSES = '/apis/storage.k8s.io/v1/storageclasses';
const claimPath = (ns: string, name: string): string =>
  `/api/v1/namespaces/${ns}/persistentvolumeclaims/${name}`;
const pvPath = (name: string): string => `${PVS}/${name}`;
const MERGE = 'application/merge-patch+json';

type KClaim = Claim & KubernetesObject;
type KVolume = Volume & KubernetesObject;
type KClass = StorageClass & KubernetesObject;

interface Parts {
  ctx: EngineContext;
  played: string[];
  claims: { get(name: string, ns?: string): KClaim | undefined; list(): readonly KClaim[] };
  volumes: { get(name: string): KVolume | undefined; list(): readonly KVolume[] };
  classes: { get(name: string): KClass | undefined };
  /** Events of a retried step already sent (not repeated on each retry for ten minutes). */
  sent: RecentKeys;
}

/** Reasons written again on each retry of a step that cannot go on yet. */
const RETRIED = new Set(['Provisioning', 'ProvisioningFailed', 'VolumeResizeFailed']);

/** An Event on the claim, as the provisioner (source: the provisioner and this node) writes it. */
async function claimEvent(
  p: Parts,
  claim: Claim,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
): Promise<void> {
  const once = `${claim.metadata?.uid}/${reason}/${message}`;
  if (RETRIED.has(reason) && p.sent.check(once, Date.now())) return;
  const ns = claim.metadata?.namespace ?? '';
  const component = `${claimProvisioner(claim) ?? p.played[0] ?? 'local-engine'}_${NODE}`;
  const now = new Date().toISOString();
  await p.ctx.manager.rest
    .request('POST', `/api/v1/namespaces/${ns}/events`, {
      body: {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: `${claim.metadata?.name}.`, namespace: ns },
        involvedObject: {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          namespace: ns,
          name: claim.metadata?.name,
          uid: claim.metadata?.uid,
          resourceVersion: claim.metadata?.resourceVersion,
        },
        reason,
        message,
        type,
        source: { component, host: NODE },
        reportingComponent: component,
        reportingInstance: NODE,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    })
    .catch((e: Error) => p.ctx.manager.log.warn({ err: e.message, reason }, 'event not recorded'));
}

/** Provisions the claim when it is handed to a provisioner the engine plays. */
async function provision(p: Parts, claim: KClaim): Promise<{ requeueAfterMs: number } | void> {
  const cls = p.classes.get(claim.spec?.storageClassName ?? '');
  const nodes = nodesOf(p.ctx.options).map((n) => n.name);
  const decision = shouldProvision(claim, cls, p.played, nodes);
  if (!decision.provision || !cls) return;
  const { stateDir } = p.ctx.options;
  const pv = provisionedVolume({
    claim,
    cls,
    provisioner: decision.provisioner,
    nodes,
    stateDir,
  });
  const name = pv.metadata?.name ?? '';
  // Made already (the cache may not have it yet): the binder binds it.
  if (p.volumes.get(name) || (await getLive(p.ctx.manager.rest, pvPath(name)))) return;
  const key = `${claim.metadata?.namespace}/${claim.metadata?.name}`;
  await claimEvent(
    p,
    claim,
    'Normal',
    'Provisioning',
    `External provisioner is provisioning volume for claim "${key}"`,
  );
  const bytes = requestBytes(claim);
  const failed = async (why: string): Promise<{ requeueAfterMs: number }> => {
    await claimEvent(
      p,
      claim,
      'Warning',
      'ProvisioningFailed',
      `failed to provision volume with StorageClass "${cls.metadata?.name}": ${why}`,
    );
    return { requeueAfterMs: p.ctx.options.unschedulableRetryMs ?? 5_000 };
  };
  if (bytes <= 0) return failed('the claim asks for no storage (spec.resources.requests.storage)');
  const over = diskOverBudget(p.ctx, bytes, volumeFile(pv) ?? '');
  if (over) return failed(over);
  try {
    makeVolumeFile(stateDir, pv, bytes);
    await p.ctx.manager.rest.request('POST', PVS, { body: pv }).catch((e) => {
      // Written by an earlier pass: the binder binds it.
      if ((e as { code?: number }).code !== 409) throw e;
    });
  } catch (e) {
    return failed((e as Error).message);
  }
  await claimEvent(
    p,
    claim,
    'Normal',
    'ProvisioningSucceeded',
    `Successfully provisioned volume ${name}`,
  );
}

/** The volume grows: the claim says Resizing, then its file and the PV's capacity grow. */
async function grow(
  p: Parts,
  claim: KClaim,
  pv: KVolume,
  step: { bytes: number; size: string },
  others: { type: string; status: string }[],
): Promise<boolean> {
  const by = pv.metadata?.annotations?.['pv.kubernetes.io/provisioned-by'] ?? '';
  const pvName = pv.metadata?.name ?? '';
  const file = volumeFile(pv) ?? '';
  const rest = p.ctx.manager.rest;
  await claimEvent(p, claim, 'Normal', 'Resizing', `External resizer is resizing volume ${pvName}`);
  const over = diskOverBudget(p.ctx, step.bytes, file);
  if (over) {
    const why = `resize volume "${pvName}" by resizer "${by}" failed: ${over}`;
    await claimEvent(p, claim, 'Warning', 'VolumeResizeFailed', why);
    return false;
  }
  const now = new Date().toISOString();
  const resizing = {
    type: 'Resizing',
    status: 'True',
    lastTransitionTime: now,
    lastProbeTime: null,
  };
  await rest.request(
    'PATCH',
    `${claimPath(claim.metadata?.namespace ?? '', claim.metadata?.name ?? '')}/status`,
    {
      body: { status: { conditions: [...others, resizing] } },
      contentType: MERGE,
    },
  );
  growVolumeFile(file, step.bytes);
  await rest.request('PATCH', pvPath(pvName), {
    body: { spec: { capacity: { storage: step.size } } },
    contentType: MERGE,
  });
  return true;
}

/** Grows a bound claim's volume as external-resizer does, or only finishes the claim's status. */
async function expand(p: Parts, claim: KClaim): Promise<{ requeueAfterMs: number } | void> {
  const pv = p.volumes.get(claim.spec?.volumeName ?? '');
  const by = pv?.metadata?.annotations?.['pv.kubernetes.io/provisioned-by'];
  if (!pv || !by || !p.played.includes(by)) return;
  const step = expansionFor(claim, pv, p.classes.get(claim.spec?.storageClassName ?? ''));
  if (step.kind === 'none') return;
  const others = (claim.status?.conditions ?? []).filter(
    (c) => c.type !== 'Resizing' && c.type !== 'FileSystemResizePending',
  );
  if (step.kind === 'grow' && !(await grow(p, claim, pv, step, others)))
    return { requeueAfterMs: p.ctx.options.unschedulableRetryMs ?? 5_000 };
  const path = claimPath(claim.metadata?.namespace ?? '', claim.metadata?.name ?? '');
  await p.ctx.manager.rest.request('PATCH', `${path}/status`, {
    body: {
      status: {
        capacity: { storage: step.size },
        conditions: others,
        allocatedResourceStatuses: null,
      },
    },
    contentType: MERGE,
  });
  await claimEvent(p, claim, 'Normal', 'VolumeResizeSuccessful', 'Resize volume succeeded');
}

/** A released volume reclaimed by deletion: its file, then its finalizer, then the object. */
async function reclaim(p: Parts, pv: KVolume): Promise<void> {
  if (!releasedToDelete(pv, p.played)) return;
  const name = pv.metadata?.name ?? '';
  removeVolume(p.ctx.options.stateDir, pv);
  const rest = p.ctx.manager.rest;
  const finalizers = pv.metadata?.finalizers ?? [];
  try {
    if (finalizers.includes(PV_FINALIZER))
      await rest.request('PATCH', pvPath(name), {
        body: {
          metadata: {
            finalizers: finalizers.filter((f) => f !== PV_FINALIZER),
            resourceVersion: pv.metadata?.resourceVersion,
          },
        },
        contentType: MERGE,
      });
    await rest.request('DELETE', pvPath(name), {
      body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: pv.metadata?.uid } },
    });
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  p.ctx.manager.log.info({ volume: name }, 'local engine: released volume deleted');
}

/** Keys: `claim:<ns>/<name>` and `volume:<name>`. */
async function reconcile(p: Parts, key: string): Promise<{ requeueAfterMs: number } | void> {
  if (key.startsWith('volume:')) {
    const pv = p.volumes.get(key.slice('volume:'.length));
    return pv ? reclaim(p, pv) : undefined;
  }
  const [ns = '', name = ''] = key.slice('claim:'.length).split('/');
  const claim = p.claims.get(name, ns);
  if (!claim) return;
  if (claim.status?.phase === 'Bound') return expand(p, claim);
  return provision(p, claim);
}

/** The provisioner's controller on the engine's manager: claims, volumes and classes. */
export function provisionerController(ctx: EngineContext): ControllerDefinition {
  const m = ctx.manager;
  const p: Parts = {
    ctx,
    played: ctx.options.provisioners ?? [],
    claims: m.informer<KClaim>(PVCS),
    volumes: m.informer<KVolume>(PVS),
    classes: m.informer<KClass>(CLASSES),
    sent: new RecentKeys(10 * 60_000),
  };
  const claimKeys = (o: KubernetesObject): string[] =>
    m.inScope(o) ? [`claim:${objectKey(o)}`] : [];
  const volumeKeys = (o: KubernetesObject): string[] => {
    const ref = (o as KVolume).spec?.claimRef;
    if (!ref?.namespace || !m.inScope({ metadata: { namespace: ref.namespace } })) return [];
    return [`volume:${o.metadata?.name}`, `claim:${ref.namespace}/${ref.name}`];
  };
  const classKeys = (o: KubernetesObject): string[] =>
    p.claims
      .list()
      .filter((c) => c.spec?.storageClassName === o.metadata?.name)
      .flatMap(claimKeys);
  return {
    name: 'local-engine-provisioner',
    concurrency: 2,
    watches: [
      { path: PVCS, keys: claimKeys },
      { path: PVS, keys: volumeKeys },
      { path: CLASSES, keys: classKeys },
    ],
    allKeys: () => [...p.claims.list().flatMap(claimKeys), ...p.volumes.list().flatMap(volumeKeys)],
    reconcile: (key) => reconcile(p, key),
  };
}
