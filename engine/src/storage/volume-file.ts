// The file behind a PersistentVolume the engine provisioned (contract of issue 31, pure): a
// Filesystem volume's disk is `disk.img` in the volume's folder (where CDI writes on a filesystem
// volume), a Block volume's "device" is the folder's path itself (a regular raw file standing in for
// a block device). Interim copy: the storage helper's module replaces it.
import { join } from 'node:path';

export interface Volume {
  metadata?: { name?: string; annotations?: Record<string, string> };
  spec?: {
    capacity?: { storage?: string };
    volumeMode?: string;
    local?: { path: string };
    claimRef?: { namespace?: string; name?: string; uid?: string };
  };
  status?: { phase?: string };
}

/** The file a guest's disk is for this volume (raw, sparse), or none when it is not a local one. */
export function volumeFile(pv: Volume): string | undefined {
  const path = pv.spec?.local?.path;
  if (!path) return undefined;
  return pv.spec?.volumeMode === 'Block' ? path : join(path, 'disk.img');
}
