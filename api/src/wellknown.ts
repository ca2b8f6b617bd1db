// The strings vmplane writes and reads on objects: labels, annotations, finalizers, and the types
// and reasons of the conditions the controllers set. One place, documented, like KubeVirt's own
// condition constants; every layer imports them from here.
import { GROUP } from './kind.ts';

export { API_VERSION, GROUP } from './kind.ts';

/** Labels vmplane sets. */
export const Labels = {
  /** On a VM: the class it resolved to (set by the mutating webhook, for selectors and policies). */
  class: `${GROUP}/class`,
  /** On a VM: the image it boots from (set by the mutating webhook). */
  image: `${GROUP}/image`,
  /** On engine objects (KubeVirt VM, DataVolumes) and claims: the vmplane VM they belong to. */
  vm: `${GROUP}/vm`,
  /** On a claim or DataVolume made for a VirtualMachineDisk: the disk it belongs to. */
  disk: `${GROUP}/disk`,
  /** On namespaces and policies in tests: which webhook instance serves them. */
  webhookScope: `${GROUP}/webhook-scope`,
  /** The Kubernetes label naming who manages an object (StorageProfiles vmplane creates). */
  managedBy: 'app.kubernetes.io/managed-by',
  /** The standard topology label a VM's zone becomes a node selector on. */
  zone: 'topology.kubernetes.io/zone',
} as const;

/** Annotations vmplane reads or writes. */
export const Annotations = {
  /** On a namespace: the VirtualMachineClass a VM there gets when it names none. */
  namespaceDefaultClass: `${GROUP}/default-class`,
  /** On a namespace: the StorageClass a disk there gets when it names none. */
  namespaceDefaultStorageClass: `${GROUP}/default-storage-class`,
  /** On a KubeVirt VM: the class it was built from, and that class's generation. */
  class: `${GROUP}/class`,
  classGeneration: `${GROUP}/class-generation`,
  /**
   * On the DataVolumes a VM makes (set on KubeVirt's dataVolumeTemplates, which KubeVirt copies):
   * the UID of the vmplane VM. With the vmplane.io/vm label, it is how vmplane knows the
   * DataVolume is its own to delete.
   */
  ownerUid: `${GROUP}/owner-uid`,
  /**
   * On a VirtualMachineDisk: the VM that holds it, written at admission with a resourceVersion
   * precondition (JSON: vm, uid, at), so two VMs can never both attach it.
   */
  attachedTo: `${GROUP}/attached-to`,
  /** On a StorageClass: the cluster's default (Kubernetes). */
  clusterDefaultStorageClass: 'storageclass.kubernetes.io/is-default-class',
  /** On a StorageClass: the default for VM disks (KubeVirt), which wins over the cluster default. */
  virtDefaultStorageClass: 'storageclass.kubevirt.io/is-default-virt-class',
} as const;

/** Finalizers vmplane adds. */
export const Finalizers = {
  /** On a VM: its engine objects and inline disks are removed before the VM goes. */
  vmCleanup: `${GROUP}/vm-cleanup`,
  /** On a VirtualMachineDisk: the disk is not deleted while a VM uses it. */
  diskProtection: `${GROUP}/disk-protection`,
} as const;

/** The value of `app.kubernetes.io/managed-by` on StorageProfiles the controller creates. */
export const STORAGEPROFILE_MANAGER = 'vmplane-storageprofile-controller';

/** The value of `app.kubernetes.io/managed-by` on every engine object and claim vmplane makes. */
export const MANAGER = 'vmplane';

/**
 * What the controllers watch, as label selectors: their caches hold only vmplane's own engine
 * objects, never the rest of a namespace (a foreign namesake is found by a live read).
 */
export const Selectors = {
  /** DataVolumes and claims vmplane makes (for disks, and from a VM's templates). */
  managed: `${Labels.managedBy}=${MANAGER}`,
  /** KubeVirt VMs and the instances KubeVirt makes from them (template labels carry it). */
  vm: Labels.vm,
} as const;

/** Condition types on a VirtualMachine. */
export const VmConditions = {
  /** The VM's class exists and this namespace may use it. */
  ClassResolved: 'ClassResolved',
  /** The VM's image exists and is usable. */
  ImageResolved: 'ImageResolved',
  /** Every disk the VM uses is ready (or the VM says why not). */
  DisksReady: 'DisksReady',
  /** The engine (KubeVirt, and CDI for disks) is installed and serves the VM. */
  EngineAvailable: 'EngineAvailable',
  /** The VM runs and its guest is ready. */
  Ready: 'Ready',
  /** The VM's class changed while it ran; the change applies at the next power cycle. */
  RestartPending: 'RestartPending',
  /** The power state asked for cannot be reached now (for example Suspended on a stopped VM). */
  PowerAction: 'PowerAction',
  /** The API server took the KubeVirt VM vmplane wrote (False: it refused it, and why). */
  EngineAccepted: 'EngineAccepted',
  /**
   * The QEMU guest agent in the guest answers: KubeVirt's VMI condition of that name, mirrored
   * (False while the VM runs without it, or does not run).
   */
  AgentConnected: 'AgentConnected',
  /**
   * The running VM can live-migrate (KubeVirt's VMI condition, mirrored with its reason, and what
   * to change in vmplane's terms when it cannot).
   */
  LiveMigratable: 'LiveMigratable',
} as const;

/** Condition types on a VirtualMachineClass. */
export const ClassConditions = {
  /** The cluster's KubeVirt lets VMs have the class's GPUs and host devices. */
  DevicesPermitted: 'DevicesPermitted',
} as const;

/** Condition types on a VirtualMachineDisk. */
export const DiskConditions = {
  /** The disk's claim is bound and its data is in place. */
  Ready: 'Ready',
  /** The claim has grown to the disk's size. */
  Resized: 'Resized',
  /** A deletion is waiting (for example for a VM to let the disk go). */
  Deleting: 'Deleting',
} as const;

/** Condition types on a StorageProfile. */
export const StorageProfileConditions = {
  /** vmplane knows (or was told) how the StorageClass's provisioner can be used for disks. */
  Recognized: 'Recognized',
} as const;

/** Reasons of the conditions above, by what they say. */
export const Reasons = {
  /** EngineAvailable=False: KubeVirt's CRDs are not installed. */
  KubeVirtNotInstalled: 'KubeVirtNotInstalled',
  /** EngineAvailable=False: KubeVirt's CRDs are there but no KubeVirt CR is. */
  KubeVirtNotDeployed: 'KubeVirtNotDeployed',
  /** EngineAvailable=False: a KubeVirt CR exists but its phase is not Deployed. */
  KubeVirtNotReady: 'KubeVirtNotReady',
  /** EngineAvailable=True. */
  KubeVirtDeployed: 'KubeVirtDeployed',
  /** EngineAccepted=False: the API server (KubeVirt's webhook, its CRD) refused the KubeVirt VM. */
  EngineRefused: 'EngineRefused',
  /** EngineAccepted=True. */
  Accepted: 'Accepted',
  /** DevicesPermitted=False (class), ClassResolved=False (VM): KubeVirt does not permit a device. */
  DevicesNotPermitted: 'DevicesNotPermitted',
  /** DevicesPermitted=True. */
  DevicesPermitted: 'DevicesPermitted',
  /** DevicesPermitted=Unknown: no KubeVirt is deployed to ask. */
  EngineUnknown: 'EngineUnknown',
  /** DisksReady=False: CDI's CRDs are not installed. */
  CDINotInstalled: 'CDINotInstalled',
  /**
   * DisksReady=False: a DataVolume failed, or its importer stopped on an error (KubeVirt's
   * printable status of that name, by the same rule: phase Failed, or Running=False with reason
   * Error or ImagePullFailed).
   */
  DataVolumeError: 'DataVolumeError',
  /** AgentConnected=True. */
  AgentConnected: 'AgentConnected',
  /** AgentConnected=False: the VM runs, and no guest agent answers on its channel. */
  AgentNotConnected: 'AgentNotConnected',
  /** AgentConnected=False: the VM does not run, so no agent can answer. */
  NotRunning: 'NotRunning',
  /** Ready=False: the class or image does not resolve, so no engine object is built. */
  NotTranslated: 'NotTranslated',
  /** Ready=True (VM or disk). */
  Ready: 'Ready',
  /** RestartPending=True: the class changed while the VM ran. */
  ClassChanged: 'ClassChanged',
  /** RestartPending=False. */
  UpToDate: 'UpToDate',
  /** Disk Ready=False: the claim is not bound yet. */
  ClaimPending: 'ClaimPending',
  /** Disk Ready=False: the source (image, claim, snapshot) does not exist. */
  SourceNotFound: 'SourceNotFound',
  /** Disk Ready=False: the disk it is cloned from (source.disk) is not Ready yet. */
  SourceNotReady: 'SourceNotReady',
  /** Disk Ready=False: CDI reports the import failed. */
  ImportFailed: 'ImportFailed',
  /** Disk Resized=False: the claim grows once it is bound. */
  WaitingForBinding: 'WaitingForBinding',
  /** Disk Resized=False: the claim asks for the new size; the storage has not grown it yet. */
  Resizing: 'Resizing',
  /** Disk Resized=False: the API server refused to grow the claim. */
  ResizeRefused: 'ResizeRefused',
  /** Disk Deleting=False: a VM still uses the disk. */
  InUse: 'InUse',
  /**
   * An object vmplane would make (or delete) has that name already and is not vmplane's: vmplane
   * leaves it alone and says which object it is.
   */
  NameInUse: 'NameInUse',
  /**
   * Disk Ready=False, or VM DisksReady=False: a claim or DataVolume was deleted outside vmplane
   * after the disk was ready.
   */
  ClaimLost: 'ClaimLost',
  /** StorageProfile Recognized=True from the provisioner table. */
  KnownProvisioner: 'KnownProvisioner',
  /** StorageProfile Recognized=True from the profile's own spec. */
  SpecOverride: 'SpecOverride',
  /** StorageProfile Recognized=False. */
  UnrecognizedProvisioner: 'UnrecognizedProvisioner',
} as const;

/** The reservation of a class that sets none (the API's default for spec.reservation). */
export const DEFAULT_RESERVATION = 'BestEffort';

/** A class's reservation, with the API's default. */
export function reservationOf(c: {
  spec: { reservation?: 'Guaranteed' | 'BestEffort' };
}): 'Guaranteed' | 'BestEffort' {
  return c.spec.reservation ?? DEFAULT_RESERVATION;
}
