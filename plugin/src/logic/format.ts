// How VM facts read in the UI: status colours, sizes, quantities. Pure functions.
import type { VirtualMachine, VirtualMachineDisk } from '../../../api/generated/types.ts';
import { isQuantity, parseQuantity } from '../../../api/src/quantity.ts';

export type StatusColour = 'success' | 'warning' | 'error' | '';

/** The colour of a VM's printable status: green running, amber in transition, red broken. */
export function statusColour(printable: string | undefined): StatusColour {
  switch (printable) {
    case 'Running':
      return 'success';
    case 'Stopped':
    case undefined:
    case '':
      return '';
    case 'Starting':
    case 'Stopping':
    case 'Provisioning':
    case 'Migrating':
    case 'Paused':
    case 'Pending':
    case 'Terminating':
    case 'WaitingForVolumeBinding':
      return 'warning';
    default:
      // Failed, ErrorUnschedulable, CrashLoopBackOff, ErrImagePull, DataVolumeError, Unknown...
      return 'error';
  }
}

/** Bytes in the largest binary unit that keeps the number readable: 4294967296 -> "4 GiB". */
export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const shown = Number.isInteger(v) ? String(v) : v.toFixed(1).replace(/\.0$/, '');
  return `${shown} ${units[i]}`;
}

/** A memory quantity as people read it: "4Gi" -> "4 GiB"; text that is not a quantity is shown as is. */
export function formatMemory(q: string | undefined): string {
  if (!q) return '-';
  return isQuantity(q) ? formatBytes(Number(parseQuantity(q).asInteger())) : q;
}

/** "2 vCPU, 4 GiB" from what the VM runs with (status) or, before it ran, nothing. */
export function formatSize(cpus: number | undefined, memory: string | undefined): string {
  if (cpus === undefined && !memory) return '-';
  const parts: string[] = [];
  if (cpus !== undefined) parts.push(`${cpus} vCPU`);
  if (memory) parts.push(formatMemory(memory));
  return parts.join(', ');
}

/** The status text of a VM: KubeVirt's printable status, else the phase, else "Unknown". */
export function displayStatus(vm: {
  status?: VirtualMachine['status'];
  metadata?: { deletionTimestamp?: unknown };
}): string {
  if (vm.metadata?.deletionTimestamp) return 'Terminating';
  return vm.status?.printableStatus || vm.status?.phase || 'Unknown';
}

/** The image a VM boots from, as "name" or "cluster/name" for the cluster library. */
export function imageLabel(spec: VirtualMachine['spec']): string {
  if (!spec.image)
    return spec.disks?.find(d => d.boot)?.name
      ? `disk: ${spec.disks.find(d => d.boot)?.name}`
      : '-';
  return spec.image.kind === 'ClusterVirtualMachineImage'
    ? `cluster/${spec.image.name}`
    : spec.image.name;
}

/** A size the user typed: a quantity above zero (such as 20Gi). */
export function isPositiveQuantity(q: string): boolean {
  return isQuantity(q) && !/^\s*[+-]/.test(q) && parseQuantity(q).nanos > 0n;
}

/** What a disk starts with, in words: blank, an image, a claim or another disk it clones. */
export function diskSourceLabel(spec: VirtualMachineDisk['spec']): string {
  const src = spec.source;
  if (src?.disk) return `clone of disk ${src.disk.name}`;
  if (src?.pvc)
    return `clone of claim ${src.pvc.namespace ? `${src.pvc.namespace}/` : ''}${src.pvc.name}`;
  if (src?.image)
    return `image ${src.image.kind === 'ClusterVirtualMachineImage' ? '' : '(namespace) '}${
      src.image.name
    }`;
  return 'blank';
}
