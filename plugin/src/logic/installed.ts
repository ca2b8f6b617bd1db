// What the plugin remembers of whether vmplane's API is served, per cluster, so a list page does
// not wait for the check again before asking for its list (the check still runs, beside the list).

/** Clusters seen serving vmplane's API in this session; a "not served" answer forgets one. */
export class InstallMemo {
  private readonly served = new Set<string>();

  /** true when `cluster` was last seen serving vmplane's API; undefined when not known. */
  known(cluster: string): true | undefined {
    return this.served.has(cluster) ? true : undefined;
  }

  /** The answer of a check: remembered when served, forgotten when not. */
  remember(cluster: string, served: boolean): void {
    if (served) this.served.add(cluster);
    else this.served.delete(cluster);
  }

  /** Forgets every cluster. */
  clear(): void {
    this.served.clear();
  }
}
