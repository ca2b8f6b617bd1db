// CDI's annotation and label names on the claims it makes and fills (CDI v1.65
// pkg/controller/common/util.go, pkg/common/common.go), and the engine's own.
const G = 'cdi.kubevirt.io';

export const ANN = {
  podPhase: `${G}/storage.pod.phase`,
  podRestarts: `${G}/storage.pod.restarts`,
  podSchedulable: `${G}/storage.pod.schedulable`,
  importFatalError: `${G}/storage.import.fatalError`,
  running: `${G}/storage.condition.running`,
  runningMessage: `${G}/storage.condition.running.message`,
  runningReason: `${G}/storage.condition.running.reason`,
  contentType: `${G}/storage.contentType`,
  source: `${G}/storage.import.source`,
  endpoint: `${G}/storage.import.endpoint`,
  checksum: `${G}/storage.import.checksum`,
  importPod: `${G}/storage.import.importPodName`,
  cloneSourcePod: `${G}/storage.sourceClonePodName`,
  preallocationRequested: `${G}/storage.preallocation.requested`,
  createdForDataVolume: `${G}/createdForDataVolume`,
  usePopulator: `${G}/storage.usePopulator`,
  cloneRequest: 'k8s.io/CloneRequest',
  cloneOf: 'k8s.io/CloneOf',
  selectedNode: 'volume.kubernetes.io/selected-node',
  defaultClass: 'storageclass.kubernetes.io/is-default-class',
  defaultVirtClass: 'storageclass.kubevirt.io/is-default-virt-class',
  /** The engine's: which library kernel a disk boots (virt-handler's kernel boot). */
  kernelFrom: 'local-engine.vmplane.io/kernel-from',
} as const;

export const CDI_LABELS = { app: 'containerized-data-importer' } as const;
/** On Filesystem claims: CDI keeps the "volume filling up" alert quiet on its disks. */
export const FILLING_UP_LABEL = 'alerts.k8s.io/KubePersistentVolumeFillingUp';

export const SOURCE = { http: 'http', registry: 'registry', none: 'none' } as const;
