// An informer that keeps itself alive. @kubernetes/client-node's informer relists on 410 Gone but
// stops for good on any other error (a dropped connection, an API server restart) and can watch
// silently for ever. This wrapper restarts it with exponential backoff and relists periodically,
// so a cache can always be trusted to converge.
import {
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
} from '@kubernetes/client-node';
import { ApiError, type KubeRest, sharedOrOwnRest } from './rest.ts';

export interface InformerOptions {
  /** Collection path, e.g. /apis/vmplane.io/v1alpha1/virtualmachineclasses. */
  path: string;
  /**
   * Only objects with these labels (a label selector, e.g. `app.kubernetes.io/managed-by=vmplane`):
   * the cache, the list and the watch never see anything else.
   */
  labelSelector?: string;
  /** Relist this often even when the watch looks healthy. */
  resyncMs?: number;
  backoffMinMs?: number;
  backoffMaxMs?: number;
  onError?: (err: unknown, retryInMs: number) => void;
  /**
   * Trims each object, in place, before anyone sees it (like client-go's SetTransform): the cache
   * keeps only what its readers use. managedFields are always dropped.
   */
  transform?: (obj: KubernetesObject) => void;
  /** The process's connections to the API server, shared (else the informer opens its own). */
  rest?: KubeRest;
}

/** The annotation `kubectl apply` keeps: a whole copy of the object as last applied. */
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * What every cache drops: managedFields, often a third of an object, and kubectl's
 * last-applied-configuration, a copy of the whole object; no reader uses either.
 */
export function dropManagedFields(obj: KubernetesObject): void {
  if (obj.metadata?.managedFields) delete obj.metadata.managedFields;
  if (obj.metadata?.annotations?.[LAST_APPLIED] !== undefined)
    delete obj.metadata.annotations[LAST_APPLIED];
}

/**
 * For caches whose readers never look at a VM's status (the webhooks' lookups: classes, images
 * and disks in use, disk attachments): the status goes too. Not for caches the policy audit reads,
 * since a policy may look at anything a VM has.
 */
export function dropStatus(obj: KubernetesObject): void {
  delete (obj as { status?: unknown }).status;
}

/** Drops the OpenAPI schema of every version of a CustomResourceDefinition (names, versions and conditions stay). */
export function dropCrdSchemas(obj: KubernetesObject): void {
  const versions = (obj as { spec?: { versions?: { schema?: unknown }[] } }).spec?.versions;
  for (const v of versions ?? []) delete v.schema;
}

/** Objects per list request: a big collection arrives in pages, never as one huge response (as client-go's pager does). */
export const PAGE_SIZE = 500;

/**
 * Lists a collection page by page (limit and continue), trimming as it goes, so memory never
 * holds the whole response text at once. All pages come from one snapshot; the list carries its
 * resourceVersion. If the snapshot expires midway (410), the list starts over in one request.
 */
export async function listInPages<T extends KubernetesObject>(
  rest: KubeRest,
  path: string,
  limit: number,
  trim?: (o: T) => void,
  labelSelector?: string,
): Promise<KubernetesListObject<T>> {
  const items: T[] = [];
  let first: KubernetesListObject<T> | undefined;
  let token = '';
  do {
    const q = new URLSearchParams({
      ...(labelSelector ? { labelSelector } : {}),
      limit: String(limit),
      ...(token ? { continue: token } : {}),
    });
    let page: KubernetesListObject<T>;
    try {
      page = (await rest.request<KubernetesListObject<T>>('GET', `${path}?${q}`)).body;
    } catch (e) {
      if (token && e instanceof ApiError && e.code === 410)
        return listInPages(rest, path, 0, trim, labelSelector);
      throw e;
    }
    first ??= page;
    for (const o of page.items) {
      trim?.(o);
      items.push(o);
    }
    token = limit ? ((page.metadata as { continue?: string } | undefined)?.continue ?? '') : '';
  } while (token);
  return { ...first, items } as KubernetesListObject<T>;
}

type Handler<T> = (obj: T) => void;

export class ResilientInformer<T extends KubernetesObject> {
  private readonly informer: Informer<T> & ObjectCache<T>;
  private readonly opts: Required<
    Omit<InformerOptions, 'onError' | 'transform' | 'labelSelector' | 'rest'>
  > &
    Pick<InformerOptions, 'onError' | 'labelSelector'>;
  private readonly rest: KubeRest;
  private readonly releaseRest: () => void;
  private stopped = true;
  private failures = 0;
  private errorsSeen = 0;
  private restartTimer?: NodeJS.Timeout;
  private resyncTimer?: NodeJS.Timeout;
  private syncedOnce = false;
  private healthy = false;
  private readonly syncWaiters: (() => void)[] = [];

  constructor(kc: KubeConfig, opts: InformerOptions) {
    const { transform, rest: shared, ...rest } = opts;
    this.opts = { resyncMs: 5 * 60_000, backoffMinMs: 200, backoffMaxMs: 10_000, ...rest };
    ({ rest: this.rest, release: this.releaseRest } = sharedOrOwnRest(kc, shared));
    const trim = (o: T): void => {
      dropManagedFields(o);
      transform?.(o);
    };
    const list = (): Promise<KubernetesListObject<T>> =>
      listInPages<T>(this.rest, opts.path, PAGE_SIZE, trim, opts.labelSelector);
    this.informer = makeInformer<T>(kc, opts.path, list, opts.labelSelector) as Informer<T> &
      ObjectCache<T>;
    // Registered first, so it runs before every other handler: the cache stores the very object a
    // watch event carries, and trimming it here trims the cached copy.
    this.informer.on('add', trim);
    this.informer.on('update', trim);
    this.informer.on('error', (err) => this.onError(err));
  }

  on(event: 'add' | 'update' | 'delete', handler: Handler<T>): void {
    this.informer.on(event, handler);
  }

  /** True once the first list has arrived (the cache may be used). */
  get hasSynced(): boolean {
    return this.syncedOnce;
  }

  /** True while the watch is connected (false between an error and the next successful list). */
  get isHealthy(): boolean {
    return this.healthy;
  }

  list(): readonly T[] {
    return this.informer.list();
  }

  get(name: string, namespace?: string): T | undefined {
    return this.informer.get(name, namespace);
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.run();
    this.resyncTimer = setInterval(() => void this.resync(), this.opts.resyncMs);
    this.resyncTimer.unref();
  }

  waitForSync(): Promise<void> {
    if (this.syncedOnce) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    clearInterval(this.resyncTimer);
    await this.informer.stop();
    this.releaseRest();
  }

  private async run(): Promise<void> {
    const errorsBefore = this.errorsSeen;
    await this.informer.start();
    if (this.errorsSeen === errorsBefore && !this.stopped) {
      this.failures = 0;
      this.healthy = true;
      if (!this.syncedOnce) {
        this.syncedOnce = true;
        for (const w of this.syncWaiters.splice(0)) w();
      }
    }
  }

  /** A full relist: forget the resource version so the next start lists again. */
  private async resync(): Promise<void> {
    if (this.stopped) return;
    await this.informer.stop();
    (this.informer as unknown as { resourceVersion: string }).resourceVersion = '';
    await this.run();
  }

  private onError(err: unknown): void {
    this.errorsSeen++;
    this.healthy = false;
    if (this.stopped) return;
    const delay = Math.min(this.opts.backoffMaxMs, this.opts.backoffMinMs * 2 ** this.failures);
    this.failures++;
    this.opts.onError?.(err, delay);
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      if (this.stopped) return;
      (this.informer as unknown as { resourceVersion: string }).resourceVersion = '';
      void this.run();
    }, delay);
  }
}
