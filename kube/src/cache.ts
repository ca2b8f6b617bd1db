// Lookups served from informer caches: one list and watch per kind, kept current by the API
// server, so an admission request never waits on an API call.
import type {
  KubeConfig,
  KubernetesObject,
  V1Namespace,
  V1StorageClass,
} from '@kubernetes/client-node';
import type {
  ClusterVirtualMachineImage,
  StorageProfile,
  VirtualMachine,
  VirtualMachineClass,
  VirtualMachineDisk,
  VirtualMachineImage,
  VirtualMachinePolicy,
  VirtualMachinePolicyException,
} from '../../api/generated/types.ts';
import { dropStatus, ResilientInformer } from './informer.ts';
import type { Lookups } from './lookups.ts';
import type { KubeRest } from './rest.ts';

const VMPLANE = '/apis/vmplane.io/v1alpha1';

export const CACHED_PATHS = {
  namespaces: '/api/v1/namespaces',
  storageClasses: '/apis/storage.k8s.io/v1/storageclasses',
  classes: `${VMPLANE}/virtualmachineclasses`,
  images: `${VMPLANE}/virtualmachineimages`,
  clusterImages: `${VMPLANE}/clustervirtualmachineimages`,
  storageProfiles: `${VMPLANE}/storageprofiles`,
  disks: `${VMPLANE}/virtualmachinedisks`,
  vms: `${VMPLANE}/virtualmachines`,
  policies: `${VMPLANE}/virtualmachinepolicies`,
  exceptions: `${VMPLANE}/virtualmachinepolicyexceptions`,
} as const;

export interface ClusterCacheOptions {
  resyncMs?: number;
  onError?: (what: string, err: unknown, retryInMs: number) => void;
  /**
   * Informers someone else owns (the controller manager's): the cache then reads the same lists
   * and watches instead of keeping copies, and leaves starting and stopping them to their owner.
   */
  informers?: (path: string) => ResilientInformer<KubernetesObject>;
  /**
   * Keep VMs without their status (the webhooks alone read this cache: their lookups never look
   * at it). Not when the policy audit reads the cache too.
   */
  dropVmStatus?: boolean;
  /** The process's connections to the API server, shared by the cache's informers. */
  rest?: KubeRest;
}

export class ClusterCache implements Lookups {
  private readonly informers: Record<
    keyof typeof CACHED_PATHS,
    ResilientInformer<KubernetesObject>
  >;
  private readonly owned: boolean;

  constructor(kc: KubeConfig, opts: ClusterCacheOptions = {}) {
    this.owned = !opts.informers;
    const make = (key: keyof typeof CACHED_PATHS): ResilientInformer<KubernetesObject> =>
      opts.informers?.(CACHED_PATHS[key]) ??
      new ResilientInformer(kc, {
        path: CACHED_PATHS[key],
        ...(key === 'vms' && opts.dropVmStatus ? { transform: dropStatus } : {}),
        ...(opts.resyncMs ? { resyncMs: opts.resyncMs } : {}),
        ...(opts.rest ? { rest: opts.rest } : {}),
        onError: (err, retry) => opts.onError?.(key, err, retry),
      });
    this.informers = Object.fromEntries(
      Object.keys(CACHED_PATHS).map((k) => [k, make(k as keyof typeof CACHED_PATHS)]),
    ) as ClusterCache['informers'];
  }

  /** Calls `handler` when an object of one of the kinds is added, changed or deleted. */
  onChange(keys: (keyof typeof CACHED_PATHS)[], handler: () => void): void {
    for (const k of keys)
      for (const ev of ['add', 'update', 'delete'] as const) this.informers[k].on(ev, handler);
  }

  async start(): Promise<void> {
    if (!this.owned) return;
    await Promise.all(Object.values(this.informers).map((i) => i.start()));
  }

  waitForSync(): Promise<void> {
    return Promise.all(Object.values(this.informers).map((i) => i.waitForSync())).then(
      () => undefined,
    );
  }

  /** Every cache has listed at least once. */
  get synced(): boolean {
    return Object.values(this.informers).every((i) => i.hasSynced);
  }

  async stop(): Promise<void> {
    if (!this.owned) return;
    await Promise.all(Object.values(this.informers).map((i) => i.stop()));
  }

  private all<T>(key: keyof typeof CACHED_PATHS): T[] {
    return this.informers[key].list() as unknown as T[];
  }

  private inNamespace<T>(key: keyof typeof CACHED_PATHS, namespace?: string): T[] {
    const all = this.all<T & { metadata?: { namespace?: string } }>(key);
    return namespace === undefined ? all : all.filter((o) => o.metadata?.namespace === namespace);
  }

  namespace(name: string): V1Namespace | undefined {
    return this.informers.namespaces.get(name) as V1Namespace | undefined;
  }
  classes(): VirtualMachineClass[] {
    return this.all('classes');
  }
  vmClass(name: string): VirtualMachineClass | undefined {
    return this.informers.classes.get(name) as unknown as VirtualMachineClass | undefined;
  }
  namespacedImages(namespace: string): VirtualMachineImage[] {
    return this.inNamespace('images', namespace);
  }
  clusterImages(): ClusterVirtualMachineImage[] {
    return this.all('clusterImages');
  }
  storageClasses(): V1StorageClass[] {
    return this.all('storageClasses');
  }
  storageProfile(name: string): StorageProfile | undefined {
    return this.informers.storageProfiles.get(name) as unknown as StorageProfile | undefined;
  }
  disk(namespace: string, name: string): VirtualMachineDisk | undefined {
    return this.informers.disks.get(name, namespace) as unknown as VirtualMachineDisk | undefined;
  }
  disks(namespace?: string): VirtualMachineDisk[] {
    return this.inNamespace('disks', namespace);
  }
  vms(namespace?: string): VirtualMachine[] {
    return this.inNamespace('vms', namespace);
  }
  policies(): VirtualMachinePolicy[] {
    return this.all('policies');
  }
  exceptions(namespace?: string): VirtualMachinePolicyException[] {
    return this.inNamespace('exceptions', namespace);
  }
}
