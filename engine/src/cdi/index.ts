// The engine's part of CDI: virt-controller's DataVolumes from templates (templates.ts), the
// DataVolume controller and importer (controller.ts, worker.ts, importer.ts), and the objects CDI
// publishes (objects.ts).
export {
  dataVolumeState,
  dvPath,
  hasDataVolumeApi,
  ownedBy,
  ownerRef,
  syncDataVolumes,
  templateDisk,
  type DataVolume,
} from './templates.ts';
export { cdiController, CDI_CONTROLLER } from './controller.ts';
export {
  ensureCdiCr,
  ensureConfigOverhead,
  removeCdiCr,
  storageProfileController,
} from './objects.ts';
export type { CdiOptions, LibraryImageEntry } from './context.ts';
