// Admission decisions for VirtualMachineDisks, and the guards against deleting what VMs use.
import type { VirtualMachineDisk } from '../../../api/generated/types.ts';
import { findImage, type ImageKind, type Lookups } from '../../../kube/src/lookups.ts';
import { applyStorage, storageContext, type Denial, type MutationResult, type ValidationResult } from './vm.ts';

export function mutateVirtualMachineDisk(input: VirtualMachineDisk, l: Lookups): MutationResult<VirtualMachineDisk> {
  const disk = structuredClone(input);
  const notes: string[] = [];
  const denial = applyStorage(disk.spec, storageContext(disk.metadata.namespace ?? '', l), 'spec', notes);
  if (denial) return { object: input, denial, notes };
  return { object: disk, notes };
}

export function validateVirtualMachineDisk(disk: VirtualMachineDisk, old: VirtualMachineDisk | undefined, l: Lookups): ValidationResult {
  const out: ValidationResult = { denials: [], warnings: [] };
  const ns = disk.metadata.namespace ?? '';
  const img = disk.spec.source?.image;
  if (img && !old) {
    const kind = (img.kind ?? 'VirtualMachineImage') as ImageKind;
    if (!findImage(l, kind, ns, img.name)) {
      out.denials.push({ field: 'spec.source.image.name', code: 422, message: `${kind} "${img.name}" does not exist${kind === 'VirtualMachineImage' ? ` in namespace "${ns}"` : ''}` });
    }
  }
  if (!disk.spec.storageClassName || !disk.spec.accessModes?.length || !disk.spec.volumeMode) {
    const notes: string[] = [];
    const denial = applyStorage(structuredClone(disk.spec), storageContext(ns, l), 'spec', notes);
    if (denial) out.denials.push(denial);
  }
  return out;
}

const MAX_LISTED = 5;

function inUse(users: string[], what: string): Denial | undefined {
  if (users.length === 0) return undefined;
  const shown = users.slice(0, MAX_LISTED).join(', ');
  const more = users.length > MAX_LISTED ? ` and ${users.length - MAX_LISTED} more` : '';
  return {
    field: 'metadata.name',
    code: 409,
    message: `${what} is still used by ${users.length} ${users.length === 1 ? 'VM or disk' : 'VMs or disks'}: ${shown}${more}; move them to another one or delete them first`,
  };
}

export function validateClassDelete(name: string, l: Lookups): Denial | undefined {
  const users = l
    .vms()
    .filter((v) => v.spec.className === name)
    .map((v) => `${v.metadata.namespace}/${v.metadata.name}`)
    .sort();
  return inUse(users, `VirtualMachineClass "${name}"`);
}

export function validateImageDelete(kind: ImageKind, namespace: string | undefined, name: string, l: Lookups): Denial | undefined {
  const sameImage = (ref: { kind?: string; name: string } | undefined, ns: string | undefined): boolean => {
    if (!ref || ref.name !== name) return false;
    const refKind = ref.kind ?? 'VirtualMachineImage';
    return refKind === kind && (kind === 'ClusterVirtualMachineImage' || ns === namespace);
  };
  const users = [
    ...l.vms().filter((v) => sameImage(v.spec.image, v.metadata.namespace)).map((v) => `${v.metadata.namespace}/${v.metadata.name}`),
    ...l
      .disks()
      .filter((d) => sameImage(d.spec.source?.image, d.metadata.namespace))
      .map((d) => `disk ${d.metadata.namespace}/${d.metadata.name}`),
  ].sort();
  return inUse(users, `${kind} "${name}"`);
}
