// What the engine's CDI parts share: the manager, the caches, the library and the importers' state.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ResilientInformer } from '../../../kube/src/informer.ts';
import type { Manager } from '../../../kube/src/manager.ts';
import type { LibraryEntry } from '../library/routes.ts';
import type { ClaimSpec, DvSpecLike } from './claim.ts';
import type { Endpoint } from './source.ts';
import type { DvStatus } from './status.ts';

export const DVS = '/apis/cdi.kubevirt.io/v1beta1/datavolumes';
export const PVCS = '/api/v1/persistentvolumeclaims';
export const CLASSES = '/apis/storage.k8s.io/v1/storageclasses';
export const PROFILES = '/apis/cdi.kubevirt.io/v1beta1/storageprofiles';

export interface DataVolumeObject extends KubernetesObject {
  spec: DvSpecLike;
  status?: DvStatus;
}

export interface Claim extends KubernetesObject {
  spec?: ClaimSpec;
  status?: { phase?: string; capacity?: { storage?: string } };
}

export interface StorageClassObject extends KubernetesObject {
  provisioner: string;
  volumeBindingMode?: string;
}

export interface LibraryImageEntry extends LibraryEntry {
  /** A disk made from it boots the image's own kernel (the tiny Linux: KubeVirt's kernel boot). */
  kernelBoot?: boolean;
}

export interface CdiOptions {
  /** The engine's folder: scratch files go to `<stateDir>/scratch`. */
  stateDir: string;
  qemuImg?: string;
  library: { endpoint: Endpoint; images: LibraryImageEntry[] };
  /** Provisioners the engine plays (their StorageProfiles say what its volumes support). */
  provisioners?: string[];
}

export interface Work {
  running: boolean;
  restarts: number;
  progress?: string;
  retryAt?: number;
}

export interface CdiContext {
  manager: Manager;
  controllerName: string;
  stateDir: string;
  qemuImg?: string;
  library: CdiOptions['library'];
  played: string[];
  dvs: ResilientInformer<DataVolumeObject>;
  pvcs: ResilientInformer<Claim>;
  classes: ResilientInformer<StorageClassObject>;
  profiles: ResilientInformer<KubernetesObject & { status?: { claimPropertySets?: object[] } }>;
  /** The importers by claim UID. */
  work: Map<string, Work>;
  /** CDIConfig's filesystem overhead for a class. */
  overhead(className: string | undefined): number;
}
