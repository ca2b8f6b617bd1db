// Leader election on a coordination.k8s.io/v1 Lease, so two replicas are safe. A candidate takes
// the lease when it is free or when the holder has not renewed it for a whole lease duration,
// measured on the candidate's own clock from when it last saw the record change, so clock skew
// between replicas does not matter. A leader that cannot renew within the renew deadline stops
// leading at once.
import type { KubeConfig } from '@kubernetes/client-node';
import { ApiError, KubeRest, isNotFound } from './rest.ts';

/** Which Lease to hold, as whom, and how long a leader may stay silent. */
export interface LeaseSettings {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface LeaderOptions extends LeaseSettings {
  kc: KubeConfig;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: LeaseSpec;
}

/** MicroTime: RFC 3339 with microseconds. */
export const microTime = (ms: number): string =>
  new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaderElector {
  private readonly o: Required<Omit<LeaderOptions, 'log'>> & Pick<LeaderOptions, 'log'>;
  private readonly rest: KubeRest;
  private leading = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private deadline?: NodeJS.Timeout;
  private lastRenew = 0;
  private observed?: { key: string; at: number };

  constructor(o: LeaderOptions) {
    this.o = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...o };
    // A renewal that hangs (a half-open connection) must fail before the renew deadline, so a
    // leader that cannot renew stops leading before the lease can pass to another replica.
    this.rest = new KubeRest(o.kc, { timeoutMs: this.o.renewDeadlineMs });
  }

  get isLeader(): boolean {
    return this.leading;
  }

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.o.namespace}/leases/${this.o.name}`;
  }

  start(): void {
    const loop = async (): Promise<void> => {
      if (this.stopped) return;
      await this.tryAcquireOrRenew().catch((e: unknown) =>
        this.o.log?.('lease: error', { error: (e as Error).message }),
      );
      if (this.leading && Date.now() - this.lastRenew > this.o.renewDeadlineMs)
        this.lose('could not renew the lease in time');
      if (!this.stopped) this.timer = setTimeout(() => void loop(), this.o.retryPeriodMs);
    };
    void loop();
  }

  private lose(why: string): void {
    clearTimeout(this.deadline);
    if (!this.leading) return;
    this.leading = false;
    this.o.log?.('lease: stopped leading', { why, identity: this.o.identity });
    this.o.onStoppedLeading();
  }

  private async tryAcquireOrRenew(): Promise<void> {
    const now = Date.now();
    const duration = Math.ceil(this.o.leaseDurationMs / 1000);
    let lease: Lease | undefined;
    try {
      lease = (await this.rest.request<Lease>('GET', this.path)).body;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    if (!lease) {
      const fresh: Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.o.name, namespace: this.o.namespace },
        spec: {
          holderIdentity: this.o.identity,
          leaseDurationSeconds: duration,
          acquireTime: microTime(now),
          renewTime: microTime(now),
          leaseTransitions: 0,
        },
      };
      try {
        await this.rest.request(
          'POST',
          `/apis/coordination.k8s.io/v1/namespaces/${this.o.namespace}/leases`,
          { body: fresh },
        );
      } catch (e) {
        if (e instanceof ApiError && e.code === 409) return; // someone else created it first
        throw e;
      }
      return this.gain(now);
    }
    const s = lease.spec;
    const key = `${s.holderIdentity}|${s.renewTime}`;
    if (this.observed?.key !== key) this.observed = { key, at: now };
    const mine = s.holderIdentity === this.o.identity;
    const expired =
      !s.holderIdentity || now - this.observed.at > (s.leaseDurationSeconds ?? duration) * 1000;
    if (!mine && !expired) {
      if (this.leading) this.lose(`lease now held by ${s.holderIdentity}`);
      return;
    }
    const next: Lease = {
      ...lease,
      spec: {
        ...s,
        holderIdentity: this.o.identity,
        leaseDurationSeconds: duration,
        renewTime: microTime(now),
        ...(mine
          ? {}
          : { acquireTime: microTime(now), leaseTransitions: (s.leaseTransitions ?? 0) + 1 }),
      },
    };
    try {
      await this.rest.request('PUT', this.path, { body: next });
    } catch (e) {
      if (e instanceof ApiError && e.code === 409) return; // lost a race; look again next round
      throw e;
    }
    if (mine && this.leading) {
      this.lastRenew = now;
      this.armDeadline();
    } else this.gain(now); // newly acquired, or ours again after a renewal came too late
  }

  /**
   * The renew deadline as a timer of its own, so a leader whose renewal hangs (however the request
   * fails, or fails to) stops leading at the deadline, before the lease can pass to another
   * replica, and not only when the hung request finally returns.
   */
  private armDeadline(): void {
    clearTimeout(this.deadline);
    this.deadline = setTimeout(
      () => this.lose('could not renew the lease in time'),
      Math.max(0, this.lastRenew + this.o.renewDeadlineMs - Date.now()),
    );
    this.deadline.unref();
  }

  private gain(now: number): void {
    this.lastRenew = now;
    this.armDeadline();
    if (this.leading) return;
    this.leading = true;
    this.o.log?.('lease: started leading', { identity: this.o.identity });
    this.o.onStartedLeading();
  }

  /** Stops campaigning; a leader releases the lease so another replica can take over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.deadline);
    if (this.leading) {
      this.leading = false;
      try {
        const lease = (await this.rest.request<Lease>('GET', this.path)).body;
        if (lease.spec.holderIdentity === this.o.identity) {
          await this.rest.request('PUT', this.path, {
            body: {
              ...lease,
              spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1 },
            },
          });
        }
      } catch {
        /* best effort: the lease expires anyway */
      }
    }
    this.rest.close();
  }
}
