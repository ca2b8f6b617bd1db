// The engine as CDI's DataVolume controller: each DataVolume gets its claim (same name, controlled
// by it), and once the claim is bound its file is filled by the engine's importer or cloner; the
// DataVolume's status and events follow as CDI writes them. The legacy (non-populator) flow: CDI
// takes it for a storage class whose provisioner has no CSI driver, which is the engine's case.
// Follows CDI v1.65 pkg/controller/datavolume/controller-base.go (syncCommon, handlePvcCreation,
// updateStatus), import-controller.go and pvc-clone-controller.go (validateCloneAndSourcePVC).
import type { KubernetesObject } from '@kubernetes/client-node';
import { parseQuantity } from '../../../api/src/quantity.ts';
import type { ControllerDefinition, Manager } from '../../../kube/src/manager.ts';
import { objectKey, splitKey } from '../../../kube/src/manager.ts';
import { isSubset } from '../../../kube/src/objects.ts';
import { isNotFound } from '../../../kube/src/rest.ts';
import { ANN } from './annotations.ts';
import {
  claimForDataVolume,
  type ClaimPropertySet,
  type ClaimSpec,
  type RenderContext,
} from './claim.ts';
import {
  CLASSES,
  DVS,
  PROFILES,
  PVCS,
  type CdiContext,
  type CdiOptions,
  type Claim,
  type DataVolumeObject,
  type StorageClassObject,
} from './context.ts';
import { libraryImageOf } from './source.ts';
import { dataVolumeStatus, type DvEvent, type DvFacts } from './status.ts';
import { claimFile, runWorker } from './worker.ts';

export const CDI_CONTROLLER = 'local-engine-cdi';

const bytes = (q: string | undefined): number => (q ? Number(parseQuantity(q).asInteger()) : 0);

const dvObject = (dv: DataVolumeObject): KubernetesObject => ({
  apiVersion: 'cdi.kubevirt.io/v1beta1',
  kind: 'DataVolume',
  metadata: dv.metadata ?? {},
});

/**
 * Why a clone cannot start yet (CDI's event), or undefined when it can: the source must exist and
 * the target ask at least the source's size (both as rendered: spec.storage with its overhead).
 */
function cloneProblem(
  cdi: CdiContext,
  dv: DataVolumeObject,
  target: string | undefined,
): DvEvent | undefined {
  const src = dv.spec.source?.pvc;
  if (!src) return undefined;
  const ns = src.namespace ?? dv.metadata?.namespace ?? '';
  const source = cdi.pvcs.get(src.name, ns);
  if (!source)
    return {
      type: 'Warning',
      reason: 'CloneWithoutSource',
      message: `The source pvc ${src.name} doesn't exist`,
    };
  const have = source.spec?.resources?.requests?.storage;
  if (target && have && bytes(target) < bytes(have))
    return {
      type: 'Warning',
      reason: 'CloneValidationFailed',
      message: `The clone doesn't meet the validation requirements: target resources requests storage size is smaller than the source ${bytes(target)} < ${bytes(have)}`,
    };
  return undefined;
}

/** What rendering the claim needs: classes, profiles, the overhead, the clone source's size. */
function renderContext(cdi: CdiContext, dv: DataVolumeObject): RenderContext {
  const profiles = new Map<string, ClaimPropertySet[]>();
  for (const p of cdi.profiles.list())
    if (p.metadata?.name)
      profiles.set(p.metadata.name, (p.status?.claimPropertySets ?? []) as ClaimPropertySet[]);
  const src = dv.spec.source;
  const image = libraryImageOf(src?.http?.url ?? src?.registry?.url, cdi.library.images);
  const kernel = cdi.library.images.find((i) => i.name === image && i.kernelBoot)?.name;
  const ns = src?.pvc?.namespace ?? dv.metadata?.namespace ?? '';
  const sourceSize = src?.pvc
    ? cdi.pvcs.get(src.pvc.name, ns)?.spec?.resources?.requests?.storage
    : undefined;
  return {
    classes: cdi.classes.list() as never,
    profiles,
    overhead: (c) => cdi.overhead(c),
    ...(sourceSize ? { sourceSize } : {}),
    ...(kernel ? { kernelFrom: kernel } : {}),
  };
}

/** Makes the DataVolume's claim, or says why CDI would not. */
async function createClaim(cdi: CdiContext, dv: DataVolumeObject): Promise<DvEvent | undefined> {
  const rendered = claimForDataVolume(dv as never, renderContext(cdi, dv));
  const problem = cloneProblem(
    cdi,
    dv,
    rendered.ok ? rendered.claim.spec.resources?.requests?.storage : undefined,
  );
  if (problem) return problem;
  if (!rendered.ok) return { type: 'Warning', reason: rendered.reason, message: rendered.message };
  const ns = dv.metadata?.namespace ?? '';
  await cdi.manager.rest
    .request('POST', `/api/v1/namespaces/${ns}/persistentvolumeclaims`, { body: rendered.claim })
    .catch((e) => {
      if ((e as { code?: number }).code !== 409) throw e;
    });
  return undefined;
}

/** Starts the claim's importer when CDI would run its pod: bound, unfinished, not given up on. */
async function maybeStart(cdi: CdiContext, pvc: Claim, key: string): Promise<number | undefined> {
  const a = pvc.metadata?.annotations ?? {};
  if (a[ANN.podPhase] === 'Succeeded' || a[ANN.importFatalError] === 'true') return undefined;
  if (pvc.metadata?.deletionTimestamp) return undefined;
  const uid = pvc.metadata?.uid ?? '';
  const work = cdi.work.get(uid);
  if (work?.running) return 1000;
  if (work?.retryAt && work.retryAt > Date.now()) return work.retryAt - Date.now();
  const at = await claimFile(cdi, pvc);
  if (!at) return undefined;
  void runWorker(cdi, pvc, at.pv, at.file, key).catch((e: Error) =>
    cdi.manager.log.warn({ key, err: e.message }, 'importer failed'),
  );
  return 1000;
}

async function writeStatus(cdi: CdiContext, dv: DataVolumeObject, facts: DvFacts): Promise<void> {
  const { status, events } = dataVolumeStatus(facts);
  const current = dv.status ?? {};
  const same = isSubset(
    { ...status, conditions: status.conditions?.map(({ lastHeartbeatTime: _h, ...c }) => c) },
    { ...current, conditions: current.conditions?.map(({ lastHeartbeatTime: _h, ...c }) => c) },
  );
  if (same) return;
  const { namespace = '', name = '' } = dv.metadata ?? {};
  try {
    await cdi.manager.rest.request(
      'PATCH',
      `/apis/cdi.kubevirt.io/v1beta1/namespaces/${namespace}/datavolumes/${name}/status`,
      { body: { status }, contentType: 'application/merge-patch+json' },
    );
  } catch (e) {
    if (isNotFound(e)) return;
    throw e;
  }
  for (const ev of events)
    if (ev.reason) await cdi.manager.event(dvObject(dv), ev.type, ev.reason, ev.message);
}

/** What the status is decided from. */
function facts(
  cdi: CdiContext,
  dv: DataVolumeObject,
  pvc: Claim | undefined,
  noClaim: DvEvent | undefined,
): DvFacts {
  const ns = dv.metadata?.namespace ?? '';
  const src = dv.spec.source?.pvc;
  const cls = cdi.classes.get(pvc?.spec?.storageClassName ?? '');
  const progress = pvc ? cdi.work.get(pvc.metadata?.uid ?? '')?.progress : undefined;
  return {
    name: dv.metadata?.name ?? '',
    namespace: ns,
    status: dv.status ?? {},
    op: src ? 'clone' : 'import',
    ...(src ? { cloneSource: { namespace: src.namespace ?? ns, name: src.name } } : {}),
    ...(pvc ? { pvc } : {}),
    wffc: cls?.volumeBindingMode === 'WaitForFirstConsumer',
    ...(progress ? { progress } : {}),
    ...(noClaim ? { noClaim } : {}),
    now: `${new Date().toISOString().slice(0, 19)}Z`,
  };
}

const controlledBy = (pvc: Claim, dv: DataVolumeObject): boolean =>
  !!pvc.metadata?.ownerReferences?.some((o) => o.controller && o.uid === dv.metadata?.uid);

async function reconcile(
  cdi: CdiContext,
  key: string,
): Promise<{ requeueAfterMs: number } | undefined> {
  const { namespace: ns = '', name } = splitKey(key);
  const dv = cdi.dvs.get(name, ns);
  if (!dv || dv.metadata?.deletionTimestamp) return undefined;
  let pvc = cdi.pvcs.get(name, ns);
  let noClaim: DvEvent | undefined;
  if (!pvc) noClaim = await createClaim(cdi, dv);
  else if (!controlledBy(pvc, dv)) {
    noClaim = {
      type: 'Warning',
      reason: 'ErrResourceExists',
      message: `Resource "${name}" already exists and is not managed by DataVolume`,
    };
    pvc = undefined;
  }
  const requeue = pvc ? await maybeStart(cdi, pvc, key) : noClaim ? 5000 : 500;
  await writeStatus(cdi, dv, facts(cdi, dv, pvc, noClaim));
  return requeue !== undefined ? { requeueAfterMs: requeue } : undefined;
}

/** The DataVolume controller, with its caches, for the engine's manager. */
export function cdiController(
  manager: Manager,
  o: CdiOptions,
): { definition: ControllerDefinition; ctx: CdiContext } {
  const ctx: CdiContext = {
    manager,
    controllerName: CDI_CONTROLLER,
    stateDir: o.stateDir,
    ...(o.qemuImg ? { qemuImg: o.qemuImg } : {}),
    library: o.library,
    played: o.provisioners ?? [],
    dvs: manager.informer<DataVolumeObject>(DVS, { optional: true }),
    pvcs: manager.informer<Claim>(PVCS),
    classes: manager.informer<StorageClassObject>(CLASSES),
    profiles: manager.informer(PROFILES, { optional: true }),
    work: new Map(),
    overhead: () => 0.06,
  };
  const inScope = (obj: KubernetesObject): string[] =>
    manager.inScope(obj) ? [objectKey(obj)] : [];
  const ownerKeys = (obj: KubernetesObject): string[] => {
    const o = obj.metadata?.ownerReferences?.find((r) => r.controller && r.kind === 'DataVolume');
    return o && manager.inScope(obj) ? [`${obj.metadata?.namespace}/${o.name}`] : [];
  };
  const definition: ControllerDefinition = {
    name: CDI_CONTROLLER,
    concurrency: 3,
    watches: [
      { path: DVS, keys: inScope },
      { path: PVCS, keys: ownerKeys },
    ],
    allKeys: () => ctx.dvs.list().flatMap(inScope),
    reconcile: (key) => reconcile(ctx, key),
  };
  return { definition, ctx };
}

export type { ClaimSpec };
