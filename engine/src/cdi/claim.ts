// The claim CDI makes for a DataVolume (pure): same name and namespace, controlled by the
// DataVolume, CDI's labels and annotations (the source for the importer, the clone request), and
// its spec from `spec.pvc` as given or from `spec.storage` rendered with the StorageProfile (access
// and volume modes from its first claim property set, the default class, the size grown by the
// filesystem overhead). Follows CDI v1.65 pkg/controller/datavolume/controller-base.go
// (newPersistentVolumeClaim), util.go (pvcFromStorage, renderPvcSpecVolumeModeAndAccessModes...,
// renderPvcSpecVolumeSize), import-controller.go (updateAnnotations) and pkg/util (GetRequiredSpace).
import { parseQuantity } from '../../../api/src/quantity.ts';
import { ANN, CDI_LABELS, FILLING_UP_LABEL, SOURCE } from './annotations.ts';

const MiB = 2 ** 20;

export interface DvSpecLike {
  source?: {
    blank?: object;
    http?: { url: string; checksum?: string };
    registry?: { url?: string };
    pvc?: { name: string; namespace?: string };
  } & Record<string, unknown>;
  sourceRef?: object;
  contentType?: string;
  pvc?: ClaimSpec;
  storage?: ClaimSpec;
}

export interface ClaimSpec {
  accessModes?: string[];
  volumeMode?: string;
  storageClassName?: string;
  resources?: { requests?: { storage?: string } };
  selector?: object;
  volumeName?: string;
  dataSource?: object;
  dataSourceRef?: object;
}

export interface DvLike {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: DvSpecLike;
}

export interface ClassLike {
  metadata: { name: string; annotations?: Record<string, string> };
  provisioner?: string;
  volumeBindingMode?: string;
}

export interface ClaimPropertySet {
  accessModes?: string[];
  volumeMode?: string;
}

export interface RenderContext {
  classes: readonly ClassLike[];
  /** StorageProfile status.claimPropertySets by class name. */
  profiles: ReadonlyMap<string, readonly ClaimPropertySet[]>;
  /** CDIConfig's filesystem overhead for a class ("0.06" by default). */
  overhead: (className: string | undefined) => number;
  /** For a clone that asks no size: the source claim's request. */
  sourceSize?: string;
  /** The library image a disk imported from this URL boots, if any. */
  kernelFrom?: string;
}

export type Rendered =
  | { ok: true; claim: Record<string, unknown> & { spec: ClaimSpec } }
  | { ok: false; reason: string; message: string };

const bad = (reason: string, message: string): Rendered => ({ ok: false, reason, message });

/** The default class for a virtual machine disk: KubeVirt's default first, then the cluster's. */
export function defaultClass(classes: readonly ClassLike[]): ClassLike | undefined {
  const by = (ann: string): ClassLike | undefined =>
    classes.find((c) => c.metadata.annotations?.[ann] === 'true');
  return by(ANN.defaultVirtClass) ?? by(ANN.defaultClass);
}

/** Bytes a claim must ask for to hold `bytes` on a filesystem with this overhead (GetRequiredSpace). */
export function requiredSpace(overhead: number, bytes: number): number {
  const aligned = Math.ceil(bytes / MiB) * MiB;
  return Math.ceil(aligned * (1 + overhead));
}

/** What a disk image may use of a filesystem volume of `bytes` (GetUsableSpace). */
export function usableSpace(overhead: number, bytes: number): number {
  return Math.floor(Math.ceil(bytes / (1 + overhead)) / MiB) * MiB;
}

/** Access and volume modes from the class's StorageProfile where the spec leaves them out. */
function defaultModes(spec: ClaimSpec, cls: ClassLike, ctx: RenderContext): Rendered | undefined {
  const name = cls.metadata.name;
  const sets = ctx.profiles.get(name) ?? [];
  if (!spec.volumeMode && !spec.accessModes?.length) {
    const first = sets[0];
    if (!first?.accessModes?.length)
      return bad(
        'ErrClaimNotValid',
        `Spec is missing accessMode and volumeMode, cannot get access mode from StorageProfile ${name}`,
      );
    spec.accessModes = [...first.accessModes];
    if (first.volumeMode) spec.volumeMode = first.volumeMode;
  } else if (!spec.accessModes?.length) {
    const match = sets.find((s) => s.volumeMode === spec.volumeMode && s.accessModes?.length);
    if (!match?.accessModes)
      return bad(
        'ErrClaimNotValid',
        `Spec is missing accessMode and cannot get access mode from StorageProfile ${name}`,
      );
    spec.accessModes = [...match.accessModes];
  } else if (!spec.volumeMode) {
    const match = sets.find((s) => s.accessModes?.some((m) => spec.accessModes?.includes(m)));
    if (match?.volumeMode) spec.volumeMode = match.volumeMode;
  }
  return undefined;
}

/** spec.storage rendered as CDI's DataVolume controller renders it. */
function fromStorage(storage: ClaimSpec, ctx: RenderContext, isClone: boolean): Rendered {
  const spec: ClaimSpec = JSON.parse(JSON.stringify(storage)) as ClaimSpec;
  const cls = spec.storageClassName
    ? ctx.classes.find((c) => c.metadata.name === spec.storageClassName)
    : defaultClass(ctx.classes);
  if (cls) {
    spec.storageClassName = cls.metadata.name;
    const refused = defaultModes(spec, cls, ctx);
    if (refused) return refused;
  } else if (!spec.accessModes?.length)
    return bad(
      'ErrClaimNotValid',
      'PVC spec is missing accessMode and no storageClass to choose profile',
    );
  const size = spec.resources?.requests?.storage ?? (isClone ? ctx.sourceSize : undefined);
  if (!size) return bad('ErrClaimNotValid', 'PVC Spec is not valid - missing storage size');
  const bytes = Number(parseQuantity(size).asInteger());
  if (bytes < MiB)
    return bad('ErrClaimNotValid', 'PVC Spec is not valid - storage size should be at least 1MiB');
  const fs = (spec.volumeMode ?? 'Filesystem') === 'Filesystem';
  const wanted = fs ? requiredSpace(ctx.overhead(spec.storageClassName), bytes) : bytes;
  spec.resources = { ...spec.resources, requests: { storage: String(wanted) } };
  return { ok: true, claim: { spec } };
}

/** The annotations that tell the importer or cloner what to fill the claim with. */
function sourceAnnotations(dv: DvLike): Record<string, string> {
  const src = dv.spec.source ?? {};
  if (src.http)
    return {
      [ANN.endpoint]: src.http.url,
      [ANN.source]: SOURCE.http,
      ...(src.http.checksum ? { [ANN.checksum]: src.http.checksum } : {}),
    };
  if (src.registry)
    return { [ANN.endpoint]: src.registry.url ?? '', [ANN.source]: SOURCE.registry };
  if (src.pvc)
    return { [ANN.cloneRequest]: `${src.pvc.namespace ?? dv.metadata.namespace}/${src.pvc.name}` };
  return { [ANN.source]: SOURCE.none };
}

/** The claim for a DataVolume, or why CDI would not make it (its reason and message). */
export function claimForDataVolume(dv: DvLike, ctx: RenderContext): Rendered {
  const isClone = !!dv.spec.source?.pvc;
  let spec: ClaimSpec;
  if (dv.spec.pvc) spec = JSON.parse(JSON.stringify(dv.spec.pvc)) as ClaimSpec;
  else if (dv.spec.storage) {
    const r = fromStorage(dv.spec.storage, ctx, isClone);
    if (!r.ok) return r;
    spec = r.claim.spec;
  } else return bad('ErrClaimNotValid', 'datavolume one of {pvc, storage} field is required');
  const fs = (spec.volumeMode ?? 'Filesystem') === 'Filesystem';
  const { name, namespace, uid } = dv.metadata;
  return {
    ok: true,
    claim: {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name,
        namespace,
        labels: {
          ...CDI_LABELS,
          ...(fs ? { [FILLING_UP_LABEL]: 'disabled' } : {}),
          ...dv.metadata.labels,
        },
        annotations: {
          ...dv.metadata.annotations,
          [ANN.podRestarts]: '0',
          [ANN.contentType]: dv.spec.contentType || 'kubevirt',
          [ANN.preallocationRequested]: 'false',
          [ANN.createdForDataVolume]: uid,
          ...sourceAnnotations(dv),
          ...(ctx.kernelFrom ? { [ANN.kernelFrom]: ctx.kernelFrom } : {}),
        },
        ownerReferences: [
          {
            apiVersion: 'cdi.kubevirt.io/v1beta1',
            kind: 'DataVolume',
            name,
            uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec,
    },
  };
}
