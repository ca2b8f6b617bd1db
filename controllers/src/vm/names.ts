// Names of the objects a VM makes (its boot and inline disks' DataVolumes). They cannot collide:
// each ends in a hash of the VM's name and the disk's role, so VM "web" with disk "1-boot" and VM
// "web-1"'s boot disk, or VM "db" with disk "data" and a VirtualMachineDisk "db-data", get
// different names. The readable part is cut so the whole fits a DNS label (63 characters), the
// limit CDI puts on DataVolume names.
import { createHash } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { VirtualMachine } from '../../../api/generated/types.ts';
import { isControlledBy } from '../../../kube/src/ownership.ts';

const MAX = 63;
const HASH_LENGTH = 8;

/** `<vm>-<role>-<hash>`, at most 63 characters; the same inputs always give the same name. */
export function generatedName(vm: string, role: string): string {
  // '/' cannot appear in either name, so the pair hashed is unambiguous.
  const hash = createHash('sha256').update(`${vm}/${role}`).digest('hex').slice(0, HASH_LENGTH);
  const readable = `${vm}-${role}`
    .slice(0, MAX - HASH_LENGTH - 1)
    .replace(/[^a-z0-9]+$/, '')
    .replace(/\./g, '-');
  return `${readable}-${hash}`;
}

export const bootDataVolumeName = (vm: string): string => generatedName(vm, 'boot');
export const diskDataVolumeName = (vm: string, disk: string): string => generatedName(vm, disk);

/** The DataVolumes a VM makes: its boot disk and its inline disks. */
export function dataVolumeNames(vm: VirtualMachine): string[] {
  const name = vm.metadata.name ?? '';
  return [
    ...(vm.spec.image ? [bootDataVolumeName(name)] : []),
    ...(vm.spec.disks ?? [])
      .filter((disk) => disk.size)
      .map((disk) => diskDataVolumeName(name, disk.name)),
  ];
}

/**
 * Whether a DataVolume is the VM's: its controller owner reference names the vmplane VM or the
 * VM's own KubeVirt VM (KubeVirt sets that one on what it makes from the templates), by UID. Labels
 * and annotations never count: anyone who may write DataVolumes in the namespace can copy them,
 * the VM's UID included, and vmplane must not update or delete what they made.
 */
export function isVmDataVolume(
  dv: KubernetesObject,
  vm: { name: string; uid: string | undefined },
  kubevirtUid?: string,
): boolean {
  return isControlledBy(dv, vm.uid) || isControlledBy(dv, kubevirtUid);
}
