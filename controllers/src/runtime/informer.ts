// An informer that keeps itself alive. @kubernetes/client-node's informer relists on 410 Gone but
// stops for good on any other error (a dropped connection, an API server restart) and can watch
// silently for ever. This wrapper restarts it with exponential backoff and relists periodically,
// so a cache can always be trusted to converge.
import { makeInformer, type Informer, type KubeConfig, type KubernetesListObject, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';
import { KubeRest } from '../../../cli/src/rest.ts';

export interface InformerOptions {
  /** Collection path, e.g. /apis/vmplane.io/v1alpha1/virtualmachineclasses. */
  path: string;
  /** Relist this often even when the watch looks healthy. */
  resyncMs?: number;
  backoffMinMs?: number;
  backoffMaxMs?: number;
  onError?: (err: unknown, retryInMs: number) => void;
}

type Handler<T> = (obj: T) => void;

export class ResilientInformer<T extends KubernetesObject> {
  private readonly informer: Informer<T> & ObjectCache<T>;
  private readonly opts: Required<Omit<InformerOptions, 'onError'>> & Pick<InformerOptions, 'onError'>;
  private readonly rest: KubeRest;
  private stopped = true;
  private failures = 0;
  private errorsSeen = 0;
  private restartTimer?: NodeJS.Timeout;
  private resyncTimer?: NodeJS.Timeout;
  private syncedOnce = false;
  private healthy = false;
  private readonly syncWaiters: (() => void)[] = [];

  constructor(kc: KubeConfig, opts: InformerOptions) {
    this.opts = { resyncMs: 5 * 60_000, backoffMinMs: 200, backoffMaxMs: 10_000, ...opts };
    this.rest = new KubeRest(kc);
    const list = async (): Promise<KubernetesListObject<T>> => (await this.rest.request<KubernetesListObject<T>>('GET', opts.path)).body;
    this.informer = makeInformer<T>(kc, opts.path, list) as Informer<T> & ObjectCache<T>;
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
    this.rest.close();
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
