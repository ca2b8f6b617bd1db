// Which TCP connections the webhook server keeps. Node's own maxConnections counts every socket,
// including ones still in (or never starting) their TLS handshake, and Node closes those only
// after its 120 s handshake timeout: a thousand idle sockets shut the API server out for two
// minutes. Here connections still in their handshake have a small budget of their own (the
// oldest go first when it is full), a connection that has sent nothing within a second or two is
// closed, and only connections that finished their handshake count toward the session limit.
// The decisions are pure functions; ConnectionGuard applies them to sockets.
import type { Socket } from 'node:net';

export interface ConnectionLimits {
  /** Connections past their TLS handshake at once; a new one past this is closed. */
  maxSecured: number;
  /** Connections still in their TLS handshake at once; past this the oldest are closed. */
  maxPending: number;
  /** A connection that has not sent a byte after this long is closed. */
  firstByteMs: number;
}

/**
 * How many of the oldest pending connections to close so that one more fits. The newest is
 * kept: a caller that just connected (kube-apiserver) finishes its handshake in milliseconds,
 * while one that has been pending longest is the likeliest to be idle.
 */
export function pendingToEvict(pending: number, maxPending: number): number {
  return Math.max(0, pending + 1 - maxPending);
}

/** Whether a connection that just finished its handshake may stay. */
export function securedFits(secured: number, maxSecured: number): boolean {
  return secured < maxSecured;
}

/** Whether a connection is idle before its first byte, and due to be closed. */
export function silentTooLong(bytesRead: number, ageMs: number, firstByteMs: number): boolean {
  return bytesRead === 0 && ageMs >= firstByteMs;
}

const key = (s: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string =>
  `${s.remoteAddress ?? ''}|${s.remotePort ?? ''}`;

/** Tracks the server's sockets and closes the ones the limits above say must go. */
export class ConnectionGuard {
  /** Raw sockets still in their handshake, oldest first (a Map keeps insertion order). */
  private readonly pending = new Map<string, Socket>();
  /** TLS sockets past their handshake. */
  readonly secured = new Set<Socket>();
  /** Counts for the metrics and the log: connections closed by each rule. */
  readonly closed = { evictedPending: 0, silent: 0, overLimit: 0 };

  constructor(private readonly limits: ConnectionLimits) {}

  /** A new TCP connection (the server's 'connection' event), before any TLS. */
  opened(raw: Socket): void {
    let evict = pendingToEvict(this.pending.size, this.limits.maxPending);
    for (const [k, s] of this.pending) {
      if (evict-- <= 0) break;
      this.pending.delete(k);
      this.closed.evictedPending++;
      s.destroy();
    }
    const k = key(raw);
    this.pending.set(k, raw);
    const started = performance.now();
    let timer: NodeJS.Timeout;
    // A timer may fire a moment before its time by the clock read here: then it looks again.
    const check = (afterMs: number): void => {
      timer = setTimeout(() => {
        const age = performance.now() - started;
        if (silentTooLong(raw.bytesRead, age, this.limits.firstByteMs)) {
          this.closed.silent++;
          raw.destroy();
        } else if (raw.bytesRead === 0) check(Math.max(1, this.limits.firstByteMs - age));
      }, afterMs);
      timer.unref();
    };
    check(this.limits.firstByteMs);
    raw.once('close', () => {
      clearTimeout(timer);
      if (this.pending.get(k) === raw) this.pending.delete(k);
    });
  }

  /** The TLS handshake finished (the server's 'secureConnection' event). */
  secure(tls: Socket): void {
    this.pending.delete(key(tls));
    if (!securedFits(this.secured.size, this.limits.maxSecured)) {
      this.closed.overLimit++;
      tls.destroy();
      return;
    }
    this.secured.add(tls);
    tls.once('close', () => this.secured.delete(tls));
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Closes everything (stop()). */
  destroyAll(): void {
    for (const s of this.pending.values()) s.destroy();
    for (const s of this.secured) s.destroy();
  }
}
