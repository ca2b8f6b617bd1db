// Runs controllers: shared informers, one work queue per controller, leader election, metrics,
// Events, graceful shutdown. A controller is a name, the sources that enqueue keys, and a
// reconcile function. Only the leader reconciles; informers run on every replica, so a new leader
// starts with warm caches.
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import pino, { type Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { KubeRest } from './rest.ts';
import { dropCrdSchemas, ResilientInformer } from './informer.ts';
import { LeaderElector, type LeaseSettings } from './leader.ts';
import { WorkQueue } from './queue.ts';
import { RecentKeys } from './recent.ts';

export type Reconcile = (key: string) => Promise<{ requeueAfterMs?: number } | void>;

export interface ControllerDefinition {
  name: string;
  reconcile: Reconcile;
  /** Collection paths whose changes enqueue keys, and how an object maps to keys. */
  watches: {
    path: string;
    /** Watch only objects with these labels (the same selector the controller's context uses). */
    labelSelector?: string;
    keys: (obj: KubernetesObject) => string[];
  }[];
  /** Keys to reconcile when leadership starts (and on resync): every object in scope. */
  allKeys: () => string[];
  concurrency?: number;
}

export interface ManagerOptions {
  kc: KubeConfig;
  logger?: Logger;
  registry?: Registry;
  leaderElection?: LeaseSettings;
  resyncMs?: number;
  /** Only these objects are reconciled (tests sharing one API server scope themselves by namespace or label). */
  scope?: (obj: KubernetesObject) => boolean;
}

export const objectKey = (o: KubernetesObject): string =>
  o.metadata?.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : (o.metadata?.name ?? '');

export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export class Manager {
  readonly kc: KubeConfig;
  readonly log: Logger;
  readonly registry: Registry;
  readonly rest: KubeRest;
  private readonly opts: ManagerOptions;
  private readonly informers = new Map<string, ResilientInformer<KubernetesObject>>();
  private readonly optional = new Set<string>();
  private readonly leadingHooks: { start: () => void; stop: () => void }[] = [];
  private readonly controllers: { def: ControllerDefinition; queue: WorkQueue }[] = [];
  private elector?: LeaderElector;
  private leading = false;
  private resyncTimer?: NodeJS.Timeout;
  private readonly metrics: {
    depth: Gauge<'controller'>;
    reconciles: Counter<'controller' | 'result'>;
    duration: Histogram<'controller'>;
    leader: Gauge;
  };
  private readonly recentEvents = new RecentKeys(10 * 60_000);
  onLeadershipLost?: () => void;

  constructor(o: ManagerOptions) {
    this.opts = o;
    this.kc = o.kc;
    this.log = o.logger ?? pino({ name: 'vmplane-controllers' });
    this.registry = o.registry ?? new Registry();
    this.rest = new KubeRest(o.kc);
    const registers = [this.registry];
    this.metrics = {
      depth: new Gauge({
        name: 'vmplane_controller_queue_depth',
        help: 'Keys waiting in the work queue.',
        labelNames: ['controller'],
        registers,
      }),
      reconciles: new Counter({
        name: 'vmplane_controller_reconcile_total',
        help: 'Reconciles by controller and result (success, error).',
        labelNames: ['controller', 'result'],
        registers,
      }),
      duration: new Histogram({
        name: 'vmplane_controller_reconcile_duration_seconds',
        help: 'Time one reconcile took.',
        labelNames: ['controller'],
        buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
        registers,
      }),
      leader: new Gauge({
        name: 'vmplane_controller_leader',
        help: '1 while this replica leads.',
        registers,
      }),
    };
  }

  /** Whether this manager reconciles the object. */
  inScope(obj: KubernetesObject | undefined): boolean {
    return !!obj && (this.opts.scope ? this.opts.scope(obj) : true);
  }

  /** Runs `start` whenever this replica starts leading and `stop` when it stops (the policy audit). */
  whileLeading(start: () => void, stop: () => void): void {
    this.leadingHooks.push({ start, stop });
  }

  /**
   * The shared informer for a collection path. An optional one (KubeVirt's and CDI's kinds, which
   * may not be installed) does not hold up start-up; it keeps retrying until the API appears.
   */
  informer<T extends KubernetesObject = KubernetesObject>(
    path: string,
    opts: { optional?: boolean; labelSelector?: string } = {},
  ): ResilientInformer<T> {
    // One cache per path and selector; `optional` is kept per cache, since start-up waits for
    // every cache that is not optional.
    const key = opts.labelSelector ? `${path}?labelSelector=${opts.labelSelector}` : path;
    if (opts.optional) this.optional.add(key);
    let inf = this.informers.get(key);
    if (!inf) {
      inf = new ResilientInformer(this.kc, {
        rest: this.rest,
        path,
        ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}),
        ...(this.opts.resyncMs ? { resyncMs: this.opts.resyncMs } : {}),
        ...(opts.optional ? { backoffMaxMs: 5_000 } : {}),
        // Controllers read a CRD's conditions, never its schema (a big CRD's schema is megabytes).
        ...(path.endsWith('/customresourcedefinitions') ? { transform: dropCrdSchemas } : {}),
        onError: (err, retry) =>
          this.optional.has(key)
            ? this.log.debug({ path, retryInMs: retry }, 'optional API not served yet')
            : this.log.warn(
                { path, err: (err as Error)?.message ?? String(err), retryInMs: retry },
                'watch failed; restarting',
              ),
      });
      this.informers.set(key, inf);
    }
    return inf as unknown as ResilientInformer<T>;
  }

  private makeQueue(def: ControllerDefinition): WorkQueue {
    const queue = new WorkQueue(def.reconcile, { concurrency: def.concurrency ?? 4 });
    queue.onError = (key, err, retry) =>
      this.log.warn(
        {
          controller: def.name,
          key,
          err: (err as Error)?.message ?? String(err),
          retryInMs: retry,
        },
        'reconcile failed',
      );
    queue.onDone = (_key, ms, ok) => {
      this.metrics.reconciles.inc({ controller: def.name, result: ok ? 'success' : 'error' });
      this.metrics.duration.observe({ controller: def.name }, ms / 1000);
      this.metrics.depth.set({ controller: def.name }, queue.depth);
    };
    return queue;
  }

  /** How many lists and watches this manager keeps. */
  get informerCount(): number {
    return this.informers.size;
  }

  add(def: ControllerDefinition): void {
    const entry = { def, queue: this.makeQueue(def) };
    for (const w of def.watches) {
      const inf = this.informer(w.path, w.labelSelector ? { labelSelector: w.labelSelector } : {});
      const handler = (obj: KubernetesObject): void => {
        if (!this.leading) return;
        for (const k of w.keys(obj)) if (k) entry.queue.add(k);
        this.metrics.depth.set({ controller: def.name }, entry.queue.depth);
      };
      inf.on('add', handler);
      inf.on('update', handler);
      inf.on('delete', handler);
    }
    this.controllers.push(entry);
  }

  /** Queues a key for a controller from outside its watches (a process that exited, say). */
  enqueue(controller: string, key: string): void {
    if (!this.leading) return;
    this.controllers.find((c) => c.def.name === controller)?.queue.add(key);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  private startLeading(): void {
    this.leading = true;
    this.metrics.leader.set(1);
    for (const { def, queue } of this.controllers) for (const k of def.allKeys()) queue.add(k);
    for (const h of this.leadingHooks) h.start();
  }

  private stopLeading(): void {
    this.leading = false;
    this.metrics.leader.set(0);
    // Stop reconciling at once: drop queued work; what is running finishes its current step.
    for (const c of this.controllers) {
      void c.queue.stop();
      c.queue = this.makeQueue(c.def);
    }
    for (const h of this.leadingHooks) h.stop();
    this.onLeadershipLost?.();
  }

  async start(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.start()));
    await Promise.all(
      [...this.informers.entries()]
        .filter(([p]) => !this.optional.has(p))
        .map(([, i]) => i.waitForSync()),
    );
    const le = this.opts.leaderElection;
    if (le) {
      this.elector = new LeaderElector({
        kc: this.kc,
        ...le,
        onStartedLeading: () => this.startLeading(),
        onStoppedLeading: () => this.stopLeading(),
        log: (msg, fields) => this.log.info(fields ?? {}, msg),
      });
      this.elector.start();
    } else {
      this.startLeading();
    }
    // A periodic full pass, so nothing is missed even if an event was.
    this.resyncTimer = setInterval(
      () => {
        if (!this.leading) return;
        for (const { def, queue } of this.controllers) for (const k of def.allKeys()) queue.add(k);
      },
      this.opts.resyncMs ?? 5 * 60_000,
    );
    this.resyncTimer.unref();
    this.log.info({ controllers: this.controllers.map((c) => c.def.name) }, 'controllers started');
  }

  /** Waits until every queue is empty and idle (for tests and benchmarks). */
  async idle(): Promise<void> {
    await Promise.all(this.controllers.map((c) => c.queue.idle()));
  }

  /**
   * A Kubernetes Event on an object, for what users must see. The same reason and message on the
   * same object is not repeated within ten minutes.
   */
  async event(
    obj: KubernetesObject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    const key = `${obj.kind}/${objectKey(obj)}/${reason}/${message}`;
    if (this.recentEvents.check(key, Date.now())) return;
    const now = new Date().toISOString();
    const namespace = obj.metadata?.namespace ?? 'default';
    try {
      await this.rest.request('POST', `/api/v1/namespaces/${namespace}/events`, {
        body: {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { generateName: `${obj.metadata?.name}.`, namespace },
          involvedObject: {
            apiVersion: obj.apiVersion,
            kind: obj.kind,
            name: obj.metadata?.name,
            namespace: obj.metadata?.namespace,
            uid: obj.metadata?.uid,
          },
          reason,
          message,
          type,
          source: { component: 'vmplane-controllers' },
          reportingComponent: 'vmplane-controllers',
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    } catch (e) {
      this.log.warn({ err: (e as Error).message, reason }, 'could not record event');
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.resyncTimer);
    if (this.leading) for (const h of this.leadingHooks) h.stop();
    this.leading = false;
    await Promise.all(this.controllers.map((c) => c.queue.stop()));
    await this.elector?.stop();
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
    this.rest.close();
  }
}
