// Which storage class, access modes and volume mode a disk gets, by the rules CDI uses, settled
// at admission so a disk can never be stuck for want of a mode. When nothing can be settled the
// answer names the StorageProfile to edit and the field to set: the single most common KubeVirt
// complaint, made actionable.
import {
  provisionerCapabilities,
  type AccessMode,
  type ClaimPropertySet,
  type VolumeMode,
} from '../../api/src/provisioners.ts';

import type { StorageClassInfo, StorageProfileInfo } from '../../kube/src/lookups.ts';
import { Annotations } from '../../api/src/wellknown.ts';

export type { StorageClassInfo, StorageProfileInfo };

export interface StorageRequest {
  storageClassName?: string;
  accessModes?: AccessMode[];
  volumeMode?: VolumeMode;
}

export interface StorageContext {
  storageClasses: StorageClassInfo[];
  profile(name: string): StorageProfileInfo | undefined;
  /** The namespace's default storage class (from a policy or an annotation), if any. */
  namespaceDefault?: { storageClassName: string; from: string };
}

export type Settled =
  | {
      ok: true;
      storageClassName: string;
      accessModes: AccessMode[];
      volumeMode: VolumeMode;
      classFrom: string;
    }
  | { ok: false; field: string; message: string };

const annotated = (c: StorageClassInfo, key: string): boolean => c.annotations?.[key] === 'true';

/** Newest first, as Kubernetes picks among several defaults. */
function newest(classes: StorageClassInfo[]): StorageClassInfo | undefined {
  return [...classes].sort(
    (a, b) =>
      (b.creationTimestamp ?? '').localeCompare(a.creationTimestamp ?? '') ||
      a.name.localeCompare(b.name),
  )[0];
}

/** The claim property sets in force for a class: admin override, else controller status, else the table. */
export function claimPropertySetsFor(
  sc: StorageClassInfo,
  profile: StorageProfileInfo | undefined,
): ClaimPropertySet[] {
  if (profile?.specSets?.length) return profile.specSets;
  if (profile?.statusSets?.length) return profile.statusSets;
  return provisionerCapabilities(sc.provisioner, sc.parameters)?.claimPropertySets ?? [];
}

const sameModes = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((m) => b.includes(m));

/** A command that works whether or not the profile exists yet (apply creates or updates). */
function fixCommand(name: string): string {
  const profile = {
    apiVersion: 'vmplane.io/v1alpha1',
    kind: 'StorageProfile',
    metadata: { name },
    spec: { claimPropertySets: [{ accessModes: ['ReadWriteOnce'], volumeMode: 'Filesystem' }] },
  };
  return `echo '${JSON.stringify(profile)}' | kubectl apply -f -`;
}

/**
 * Settles storage for one disk. `field` is the path of the disk in the object (`spec`,
 * `spec.bootDisk`, `spec.disks[2]`), so messages point at what the user wrote.
 */
export function settleStorage(req: StorageRequest, ctx: StorageContext, field: string): Settled {
  const names = ctx.storageClasses.map((c) => c.name).sort();
  let sc: StorageClassInfo | undefined;
  let classFrom: string;
  if (req.storageClassName) {
    sc = ctx.storageClasses.find((c) => c.name === req.storageClassName);
    classFrom = 'spec';
    if (!sc) {
      return {
        ok: false,
        field: `${field}.storageClassName`,
        message: `StorageClass "${req.storageClassName}" does not exist; available: ${names.join(', ') || '(none: ask an administrator to create one)'}`,
      };
    }
  } else if (ctx.namespaceDefault) {
    sc = ctx.storageClasses.find((c) => c.name === ctx.namespaceDefault?.storageClassName);
    classFrom = ctx.namespaceDefault.from;
    if (!sc) {
      return {
        ok: false,
        field: `${field}.storageClassName`,
        message: `the namespace's default storage class "${ctx.namespaceDefault.storageClassName}" (from ${ctx.namespaceDefault.from}) does not exist; set ${field}.storageClassName to one of: ${names.join(', ') || '(none)'}`,
      };
    }
  } else {
    sc = newest(
      ctx.storageClasses.filter((c) => annotated(c, Annotations.virtDefaultStorageClass)),
    );
    classFrom = `annotation ${Annotations.virtDefaultStorageClass}`;
    if (!sc) {
      sc = newest(
        ctx.storageClasses.filter((c) => annotated(c, Annotations.clusterDefaultStorageClass)),
      );
      classFrom = 'cluster default StorageClass';
    }
    if (!sc) {
      return {
        ok: false,
        field: `${field}.storageClassName`,
        message: `no storage class given and the cluster has no default: set ${field}.storageClassName to one of: ${names.join(', ') || '(none: ask an administrator to create one)'}, or mark a class as the default for VMs with kubectl annotate storageclass NAME ${Annotations.virtDefaultStorageClass}=true`,
      };
    }
  }

  const profile = ctx.profile(sc.name);
  const sets = claimPropertySetsFor(sc, profile);
  const base = { storageClassName: sc.name, classFrom };
  if (req.accessModes?.length && req.volumeMode)
    return { ok: true, ...base, accessModes: req.accessModes, volumeMode: req.volumeMode };

  const unknown = (): Settled => ({
    ok: false,
    field: `${field}.${req.volumeMode ? 'accessModes' : 'volumeMode'}`,
    message: `StorageClass "${sc.name}" (provisioner ${sc.provisioner}) has no known access and volume modes, so this disk could never be provisioned. Fix it once for every disk: set spec.claimPropertySets on StorageProfile "${sc.name}" to the modes the storage supports, for example ${fixCommand(sc.name)}; or set both ${field}.accessModes and ${field}.volumeMode on this disk`,
  });
  if (sets.length === 0) return unknown();

  if (!req.accessModes?.length && !req.volumeMode) {
    const first = sets[0] as ClaimPropertySet;
    return { ok: true, ...base, accessModes: [...first.accessModes], volumeMode: first.volumeMode };
  }
  if (req.volumeMode) {
    const match = sets.find((s) => s.volumeMode === req.volumeMode);
    if (!match) {
      return {
        ok: false,
        field: `${field}.volumeMode`,
        message: `StorageClass "${sc.name}" supports no ${req.volumeMode} volumes per StorageProfile "${sc.name}" (supported: ${describeSets(sets)}); use one of those, or set ${field}.accessModes too`,
      };
    }
    return { ok: true, ...base, accessModes: [...match.accessModes], volumeMode: req.volumeMode };
  }
  const wanted = req.accessModes ?? [];
  const match = sets.find((s) => sameModes(s.accessModes, wanted));
  if (!match) {
    return {
      ok: false,
      field: `${field}.accessModes`,
      message: `StorageClass "${sc.name}" supports no volumes with access modes [${wanted.join(', ')}] per StorageProfile "${sc.name}" (supported: ${describeSets(sets)}); use one of those, or set ${field}.volumeMode too`,
    };
  }
  return { ok: true, ...base, accessModes: [...wanted], volumeMode: match.volumeMode };
}

export function describeSets(sets: ClaimPropertySet[]): string {
  return sets.map((s) => `${s.accessModes.join('+')} ${s.volumeMode}`).join('; ');
}
