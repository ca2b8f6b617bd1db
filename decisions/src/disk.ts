// Admission decisions for VirtualMachineDisks: storage settled at creation, images that exist.
import type { VirtualMachineDisk } from '../../api/generated/types.ts';
import { compareQuantities, isQuantity } from '../../api/src/quantity.ts';
import { findImage, type ImageKind, type Lookups } from '../../kube/src/lookups.ts';
import { diskInUse } from './in-use.ts';
import {
  applyStorage,
  storageContext,
  type Denial,
  type MutationResult,
  type ValidationResult,
} from './vm.ts';

export function mutateVirtualMachineDisk(
  input: VirtualMachineDisk,
  lookups: Lookups,
): MutationResult<VirtualMachineDisk> {
  const disk = structuredClone(input);
  const notes: string[] = [];
  const denial = applyStorage(
    disk.spec,
    storageContext(disk.metadata.namespace ?? '', lookups),
    'spec',
    notes,
  );
  if (denial) return { object: input, denial, notes };
  return { object: disk, notes };
}

/**
 * A disk cloned from another (spec.source.disk): the source is a VirtualMachineDisk of the same
 * namespace, not the disk itself, and no bigger than the clone (CDI refuses a clone smaller than
 * its source: CDI v1.65 pkg/apiserver/webhooks/datavolume-validate.go).
 */
function cloneSourceDenials(disk: VirtualMachineDisk, lookups: Lookups): Denial[] {
  const src = disk.spec.source?.disk;
  if (!src) return [];
  const ns = disk.metadata.namespace ?? '';
  if (src.name === disk.metadata.name)
    return [
      {
        field: 'spec.source.disk.name',
        code: 422,
        message: `"${src.name}" is this disk itself: name another VirtualMachineDisk to clone`,
      },
    ];
  const source = lookups.disk(ns, src.name);
  if (!source)
    return [
      {
        field: 'spec.source.disk.name',
        code: 422,
        message: `VirtualMachineDisk "${src.name}" does not exist in namespace "${ns}": create it first, or clone another (kubectl get vmdisk -n ${ns})`,
      },
    ];
  const from = source.spec.size;
  if (isQuantity(from) && isQuantity(disk.spec.size) && compareQuantities(disk.spec.size, from) < 0)
    return [
      {
        field: 'spec.size',
        code: 422,
        message: `${disk.spec.size} is smaller than VirtualMachineDisk "${src.name}" (${from}), which it clones: a clone needs at least its source's size`,
      },
    ];
  return [];
}

export function validateVirtualMachineDisk(
  disk: VirtualMachineDisk,
  old: VirtualMachineDisk | undefined,
  lookups: Lookups,
): ValidationResult {
  const out: ValidationResult = { denials: [], warnings: [] };
  const ns = disk.metadata.namespace ?? '';
  const img = disk.spec.source?.image;
  if (img && !old) {
    const kind = (img.kind ?? 'VirtualMachineImage') as ImageKind;
    if (!findImage(lookups, kind, ns, img.name)) {
      out.denials.push({
        field: 'spec.source.image.name',
        code: 422,
        message: `${kind} "${img.name}" does not exist${kind === 'VirtualMachineImage' ? ` in namespace "${ns}"` : ''}`,
      });
    }
  }
  if (!old) out.denials.push(...cloneSourceDenials(disk, lookups));
  if (!disk.spec.storageClassName || !disk.spec.accessModes?.length || !disk.spec.volumeMode) {
    const notes: string[] = [];
    const denial = applyStorage(
      structuredClone(disk.spec),
      storageContext(ns, lookups),
      'spec',
      notes,
    );
    if (denial) out.denials.push(denial);
  }
  return out;
}

/**
 * Deleting a disk: refused while a VM of its namespace names it in spec.disks, or while a disk
 * cloned from it is still being filled (Pending or Importing: the clone reads its claim). A VM
 * being deleted no longer counts (it lets the disk go; the disk controller's finalizer waits for
 * that anyway), nor does a clone that is Ready or Failed.
 */
export function validateDiskDelete(
  namespace: string,
  name: string,
  lookups: Lookups,
): Denial | undefined {
  const users = lookups
    .vms(namespace)
    .filter(
      (v) =>
        !(v.metadata as { deletionTimestamp?: string }).deletionTimestamp &&
        !!v.spec.disks?.some((d) => d.virtualMachineDiskName === name),
    )
    .map((v) => v.metadata.name ?? '')
    .sort();
  const attached = diskInUse(users, `VirtualMachineDisk "${name}"`);
  if (attached) return attached;
  const clones = lookups
    .disks(namespace)
    .filter(
      (d) =>
        d.spec.source?.disk?.name === name &&
        !(d.metadata as { deletionTimestamp?: string }).deletionTimestamp &&
        d.status?.phase !== 'Ready' &&
        d.status?.phase !== 'Failed',
    )
    .map((d) => `"${d.metadata.name}" (${d.status?.phase ?? 'Pending'})`)
    .sort();
  if (!clones.length) return undefined;
  return {
    field: 'metadata.name',
    code: 409,
    message: `VirtualMachineDisk "${name}" is being cloned by ${clones.length === 1 ? 'disk' : 'disks'} ${clones.join(', ')}: wait until the clone is Ready, or delete it first`,
  };
}
