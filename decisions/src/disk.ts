// Admission decisions for VirtualMachineDisks: storage settled at creation, images that exist.
import type { VirtualMachineDisk } from '../../api/generated/types.ts';
import { findImage, type ImageKind, type Lookups } from '../../kube/src/lookups.ts';
import { applyStorage, storageContext, type MutationResult, type ValidationResult } from './vm.ts';

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
