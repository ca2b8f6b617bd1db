// Admission decisions for VirtualMachines, as flat lists of named steps: what the mutating webhook
// fills in, and what the validating webhook checks against classes, images and disks.
import type { VirtualMachine, VirtualMachineClass } from '../../api/generated/types.ts';
import {
  findImage,
  storageClassInfo,
  storageProfileInfo,
  type ImageKind,
  type Lookups,
} from '../../kube/src/lookups.ts';
import { namespaceDefaults } from './defaults.ts';
import { matchesSelector, type LabelSelector } from '../../api/src/selectors.ts';
import { settleStorage, type StorageContext, type StorageRequest } from './storage.ts';
import { Finalizers, Labels } from '../../api/src/wellknown.ts';

/** Held by every VM until the controller has removed what it created for it (KubeVirt VM, DataVolumes). */

export interface Denial {
  field: string;
  message: string;
  /** HTTP code reported to the client: 403 for policy, 422 for invalid references. */
  code?: number;
}

export interface MutationResult<T> {
  object: T;
  denial?: Denial;
  /** What was filled in and from where, for the decision log. */
  notes: string[];
}

export interface ValidationResult {
  denials: Denial[];
  warnings: string[];
}

export function storageContext(namespace: string, lookups: Lookups): StorageContext {
  const d = namespaceDefaults(namespace, lookups).storageClassName;
  return {
    storageClasses: lookups.storageClasses().map(storageClassInfo),
    profile: (name) => storageProfileInfo(lookups.storageProfile(name)),
    ...(d ? { namespaceDefault: { storageClassName: d.value, from: d.from } } : {}),
  };
}

/** Applies settled storage to a disk-like object in place; returns a denial when it cannot. */
export function applyStorage(
  target: StorageRequest,
  ctx: StorageContext,
  field: string,
  notes: string[],
): Denial | undefined {
  const s = settleStorage(target, ctx, field);
  if (!s.ok) return { field: s.field, message: s.message, code: 422 };
  if (target.storageClassName !== s.storageClassName) {
    notes.push(`${field}.storageClassName=${s.storageClassName} (${s.classFrom})`);
    target.storageClassName = s.storageClassName;
  }
  if (!target.accessModes?.length) {
    notes.push(
      `${field}.accessModes=${s.accessModes.join(',')} (StorageProfile ${s.storageClassName})`,
    );
    target.accessModes = s.accessModes;
  }
  if (!target.volumeMode) {
    notes.push(`${field}.volumeMode=${s.volumeMode} (StorageProfile ${s.storageClassName})`);
    target.volumeMode = s.volumeMode;
  }
  return undefined;
}

/** Label values are at most 63 characters; longer names are simply not labelled. */
function setLabel(vm: VirtualMachine, key: string, value: string | undefined): void {
  if (!value || value.length > 63) return;
  vm.metadata.labels ??= {};
  vm.metadata.labels[key] = value;
}

/**
 * What the mutating webhook fills in. On creation it also adds the cleanup finalizer, so the VM is
 * protected from its first moment and the controller saves a write per VM (it still adds the
 * finalizer itself to VMs created while the webhook was not called). Never on update: the API
 * server forbids new finalizers on an object being deleted, and the controller removes it then.
 */
export function mutateVirtualMachine(
  input: VirtualMachine,
  lookups: Lookups,
  opts: { creating?: boolean } = {},
): MutationResult<VirtualMachine> {
  const vm = structuredClone(input);
  const notes: string[] = [];
  const ns = vm.metadata.namespace ?? '';
  if (opts.creating) defaultFinalizer(vm, notes);
  defaultPowerAndClass(vm, ns, lookups, notes);
  defaultImageKind(vm.spec, ns, lookups, notes);
  const denial = defaultStorage(vm.spec, ns, lookups, notes);
  if (denial) return { object: input, denial, notes };
  setLabel(vm, Labels.class, vm.spec.className);
  setLabel(vm, Labels.image, vm.spec.image?.name);
  return { object: vm, notes };
}

function defaultFinalizer(vm: VirtualMachine, notes: string[]): void {
  if (vm.metadata.finalizers?.includes(Finalizers.vmCleanup)) return;
  vm.metadata.finalizers = [...(vm.metadata.finalizers ?? []), Finalizers.vmCleanup];
  notes.push(`metadata.finalizers+=${Finalizers.vmCleanup}`);
}

function defaultPowerAndClass(
  vm: VirtualMachine,
  ns: string,
  lookups: Lookups,
  notes: string[],
): void {
  const spec = vm.spec;
  if (!spec.powerState) {
    spec.powerState = 'PoweredOn';
    notes.push('spec.powerState=PoweredOn (default)');
  }
  if (spec.className) return;
  const d = namespaceDefaults(ns, lookups).className;
  if (!d) return;
  spec.className = d.value;
  notes.push(`spec.className=${d.value} (${d.from})`);
}

/** The namespace's own image first, then the cluster library, as vSphere does. */
function defaultImageKind(
  spec: VirtualMachine['spec'],
  ns: string,
  lookups: Lookups,
  notes: string[],
): void {
  if (!spec.image || spec.image.kind) return;
  if (findImage(lookups, 'VirtualMachineImage', ns, spec.image.name))
    spec.image.kind = 'VirtualMachineImage';
  else if (findImage(lookups, 'ClusterVirtualMachineImage', ns, spec.image.name))
    spec.image.kind = 'ClusterVirtualMachineImage';
  if (spec.image.kind) notes.push(`spec.image.kind=${spec.image.kind}`);
}

/** The boot disk's size (the image's) and every new disk's storage; a denial when none can be settled. */
function defaultStorage(
  spec: VirtualMachine['spec'],
  ns: string,
  lookups: Lookups,
  notes: string[],
): Denial | undefined {
  const storage = storageContext(ns, lookups);
  if (spec.image) {
    spec.bootDisk ??= {};
    const img = spec.image.kind
      ? findImage(lookups, spec.image.kind, ns, spec.image.name)
      : undefined;
    if (!spec.bootDisk.size && img?.spec.size) {
      spec.bootDisk.size = img.spec.size;
      notes.push(`spec.bootDisk.size=${img.spec.size} (image size)`);
    }
    const denial = applyStorage(spec.bootDisk, storage, 'spec.bootDisk', notes);
    if (denial) return denial;
  }
  for (const [i, disk] of (spec.disks ?? []).entries()) {
    if (!disk.size) continue; // an existing VirtualMachineDisk carries its own storage
    const denial = applyStorage(disk, storage, `spec.disks[${i}]`, notes);
    if (denial) return denial;
  }
  return undefined;
}

export function classAvailableIn(
  c: VirtualMachineClass,
  namespace: string,
  lookups: Lookups,
): boolean {
  const labels = lookups.namespace(namespace)?.metadata?.labels ?? {
    'kubernetes.io/metadata.name': namespace,
  };
  return matchesSelector(c.spec.namespaceSelector as LabelSelector | undefined, labels);
}

export function availableClasses(namespace: string, lookups: Lookups): string[] {
  return lookups
    .classes()
    .filter((c) => classAvailableIn(c, namespace, lookups))
    .map((c) => c.metadata.name ?? '')
    .sort();
}

function availableImages(namespace: string, lookups: Lookups): string[] {
  return [
    ...lookups.namespacedImages(namespace).map((i) => `${i.metadata.name} (VirtualMachineImage)`),
    ...lookups.clusterImages().map((i) => `${i.metadata.name} (ClusterVirtualMachineImage)`),
  ].sort();
}

const list = (xs: string[]): string => (xs.length ? xs.join(', ') : '(none)');

function checkClass(
  vm: VirtualMachine,
  old: VirtualMachine | undefined,
  lookups: Lookups,
  out: ValidationResult,
): void {
  const ns = vm.metadata.namespace ?? '';
  const name = vm.spec.className;
  if (!name) {
    out.denials.push({
      field: 'spec.className',
      code: 422,
      message: `required: namespace "${ns}" has no default class (set one with the namespace annotation vmplane.io/default-class or a VirtualMachinePolicy's spec.defaults.className); available here: ${list(availableClasses(ns, lookups))}`,
    });
    return;
  }
  const changed = !old || old.spec.className !== name;
  if (!changed) return; // a VM keeps the class it was admitted with, even if the class's audience changed since
  const c = lookups.vmClass(name);
  if (!c) {
    out.denials.push({
      field: 'spec.className',
      code: 422,
      message: `class "${name}" does not exist; available in namespace "${ns}": ${list(availableClasses(ns, lookups))}`,
    });
    return;
  }
  if (!classAvailableIn(c, ns, lookups)) {
    out.denials.push({
      field: 'spec.className',
      code: 403,
      message: `class "${name}" is not available in namespace "${ns}"; available: ${list(availableClasses(ns, lookups))}`,
    });
    return;
  }
  if (old && old.spec.powerState !== 'PoweredOff' && vm.spec.powerState !== 'PoweredOff') {
    out.warnings.push(
      `spec.className: changing the class of a running VM from "${old.spec.className}" to "${name}" takes effect at its next power cycle (set spec.powerState to PoweredOff and back, or kubectl vm restart ${vm.metadata.name})`,
    );
  }
}

function checkImage(
  vm: VirtualMachine,
  old: VirtualMachine | undefined,
  lookups: Lookups,
  out: ValidationResult,
): void {
  const img = vm.spec.image;
  if (!img || old) return; // immutable after creation (CRD rule); checked once
  const ns = vm.metadata.namespace ?? '';
  const kind = img.kind as ImageKind | undefined;
  // Without a kind (the mutating webhook did not run), look where mutation would have looked.
  const found = kind
    ? findImage(lookups, kind, ns, img.name)
    : (findImage(lookups, 'VirtualMachineImage', ns, img.name) ??
      findImage(lookups, 'ClusterVirtualMachineImage', ns, img.name));
  if (!found) {
    const where =
      kind === 'ClusterVirtualMachineImage'
        ? 'in the cluster library'
        : kind
          ? `in namespace "${ns}"`
          : `in namespace "${ns}" or the cluster library`;
    out.denials.push({
      field: 'spec.image.name',
      code: 422,
      message: `image "${img.name}" does not exist ${where}; available: ${list(availableImages(ns, lookups))}`,
    });
  }
}

function diskRefs(vm: VirtualMachine | undefined): string[] {
  return (vm?.spec.disks ?? []).flatMap((d) =>
    d.virtualMachineDiskName ? [d.virtualMachineDiskName] : [],
  );
}

function checkDisks(
  vm: VirtualMachine,
  old: VirtualMachine | undefined,
  lookups: Lookups,
  out: ValidationResult,
): void {
  const ns = vm.metadata.namespace ?? '';
  const before = new Set(diskRefs(old));
  for (const [i, d] of (vm.spec.disks ?? []).entries()) {
    const ref = d.virtualMachineDiskName;
    if (!ref || before.has(ref)) continue;
    if (!lookups.disk(ns, ref)) {
      const here = lookups
        .disks(ns)
        .map((x) => x.metadata.name ?? '')
        .sort();
      out.denials.push({
        field: `spec.disks[${i}].virtualMachineDiskName`,
        code: 422,
        message: `VirtualMachineDisk "${ref}" does not exist in namespace "${ns}"; disks here: ${list(here)}`,
      });
      continue;
    }
    const other = lookups
      .vms(ns)
      .find((o) => o.metadata.name !== vm.metadata.name && diskRefs(o).includes(ref));
    if (other) {
      out.denials.push({
        field: `spec.disks[${i}].virtualMachineDiskName`,
        code: 409,
        message: `VirtualMachineDisk "${ref}" is already attached to VM "${other.metadata.name}"; detach it there first`,
      });
    }
  }
}

function checkStorage(vm: VirtualMachine, lookups: Lookups, out: ValidationResult): void {
  // The mutating webhook settles storage; re-check the final object in case it did not run.
  const ns = vm.metadata.namespace ?? '';
  const ctx = storageContext(ns, lookups);
  const targets: [
    string,
    (
      | { storageClassName?: string; accessModes?: never[] | string[]; volumeMode?: string }
      | undefined
    ),
  ][] = [
    ['spec.bootDisk', vm.spec.image ? (vm.spec.bootDisk ?? {}) : undefined],
    ...(vm.spec.disks ?? []).map(
      (d, i) => [`spec.disks[${i}]`, d.size ? d : undefined] as [string, typeof d | undefined],
    ),
  ];
  for (const [field, t] of targets) {
    if (!t || (t.storageClassName && t.accessModes?.length && t.volumeMode)) continue;
    const s = settleStorage(t as never, ctx, field);
    if (!s.ok) out.denials.push({ field: s.field, message: s.message, code: 422 });
  }
}

export function validateVirtualMachine(
  vm: VirtualMachine,
  old: VirtualMachine | undefined,
  lookups: Lookups,
): ValidationResult {
  const out: ValidationResult = { denials: [], warnings: [] };
  checkClass(vm, old, lookups, out);
  checkImage(vm, old, lookups, out);
  checkDisks(vm, old, lookups, out);
  checkStorage(vm, lookups, out);
  return out;
}
