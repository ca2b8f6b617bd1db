// Remembers keys for a while (Events already sent), with a bound: expired keys are dropped as new
// ones arrive, and past `max` the oldest go first, so a controller that runs for months over
// many objects does not grow without end.
export class RecentKeys {
  private readonly seenAt = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly max = 4096,
  ) {}

  /** True when `key` was recorded within the ttl; otherwise records it now and returns false. */
  check(key: string, now: number): boolean {
    const last = this.seenAt.get(key);
    if (last !== undefined && now - last < this.ttlMs) return true;
    this.seenAt.delete(key); // re-inserted at the end: the Map stays in time order
    this.seenAt.set(key, now);
    this.prune(now);
    return false;
  }

  get size(): number {
    return this.seenAt.size;
  }

  private prune(now: number): void {
    for (const [k, t] of this.seenAt) {
      if (now - t < this.ttlMs && this.seenAt.size <= this.max) break;
      this.seenAt.delete(k);
    }
  }
}
