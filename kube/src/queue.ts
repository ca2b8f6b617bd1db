// A work queue for reconcilers: one entry per key however often it is added, never the same key
// in two workers at once (a key added while it is being processed runs again afterwards),
// exponential backoff per key on failure, and a cap on concurrent work.

export interface QueueOptions {
  concurrency?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export type Work = (key: string) => Promise<{ requeueAfterMs?: number } | void>;

export class WorkQueue {
  private readonly opts: Required<QueueOptions>;
  private readonly work: Work;
  private readonly pending: string[] = [];
  private readonly queued = new Set<string>();
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private running = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];
  onError?: (key: string, err: unknown, retryInMs: number) => void;
  onDone?: (key: string, ms: number, ok: boolean) => void;

  constructor(work: Work, opts: QueueOptions = {}) {
    this.work = work;
    this.opts = { concurrency: 4, baseDelayMs: 100, maxDelayMs: 60_000, ...opts };
  }

  get depth(): number {
    return this.pending.length;
  }

  get inFlight(): number {
    return this.running;
  }

  /**
   * Queues a key now. A key waiting out the backoff of a failure stays waiting: its retry will
   * read the fresh state anyway, and a failing key whose own writes (or a busy object) keep
   * sending events must not retry at the pace of the events. A key merely scheduled for a later
   * look (requeueAfterMs) runs now: fresh information beats a periodic check.
   */
  add(key: string): void {
    if (this.stopped) return;
    const t = this.timers.get(key);
    if (t) {
      if (this.failures.has(key)) return;
      clearTimeout(t);
      this.timers.delete(key);
    }
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.pending.push(key);
    this.pump();
  }

  addAfter(key: string, delayMs: number): void {
    if (this.stopped || this.timers.has(key)) return;
    const t = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    // (add() above finds no timer for the key, so a failing key does run when its time comes.)
    t.unref();
    this.timers.set(key, t);
  }

  /** The backoff the next failure of `key` would get. */
  backoff(key: string): number {
    const n = this.failures.get(key) ?? 0;
    return Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** n);
  }

  private pump(): void {
    while (!this.stopped && this.running < this.opts.concurrency && this.pending.length) {
      const key = this.pending.shift() as string;
      this.queued.delete(key);
      this.active.add(key);
      this.running++;
      void this.process(key);
    }
    if (this.running === 0 && this.pending.length === 0)
      for (const w of this.idleWaiters.splice(0)) w();
  }

  private async process(key: string): Promise<void> {
    const started = Date.now();
    let ok = true;
    try {
      const r = await this.work(key);
      this.failures.delete(key);
      if (r?.requeueAfterMs !== undefined) this.addAfter(key, r.requeueAfterMs);
    } catch (e) {
      ok = false;
      const delay = this.backoff(key);
      this.failures.set(key, (this.failures.get(key) ?? 0) + 1);
      this.onError?.(key, e, delay);
      this.addAfter(key, delay);
    } finally {
      this.onDone?.(key, Date.now() - started, ok);
      this.active.delete(key);
      this.running--;
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
    }
  }

  /** Resolves when nothing is queued or running (scheduled retries do not count). */
  idle(): Promise<void> {
    if (this.running === 0 && this.pending.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Stops taking work; resolves when the work in progress has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.pending.length = 0;
    this.queued.clear();
    while (this.running > 0) await new Promise((r) => setTimeout(r, 10));
  }
}
