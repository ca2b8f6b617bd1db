// Who may read /metrics: as controller-runtime's WithAuthenticationAndAuthorization filter and
// kube-rbac-proxy decide it. The caller's bearer token is checked by a TokenReview, then the user
// it names by a SubjectAccessReview for the non-resource URL /metrics, verb get. No token or a
// token the API server does not accept: 401; a user without the right: 403. Decisions are cached
// briefly per token (by its hash), so a scrape every few seconds costs no review each time.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KubeRest } from './rest.ts';

export type MetricsVerdict = 200 | 401 | 403;

/** The token of an `Authorization: Bearer <token>` header; undefined for anything else. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1];
}

/**
 * The answer to a /metrics request from what the reviews said. `authenticated` and `allowed` are
 * absent when the review was not made (no token: no TokenReview; not authenticated: no
 * SubjectAccessReview).
 */
export function metricsVerdict(r: {
  token: boolean;
  authenticated?: boolean;
  allowed?: boolean;
}): MetricsVerdict {
  if (!r.token || r.authenticated !== true) return 401;
  return r.allowed === true ? 200 : 403;
}

/** How long a verdict is kept: a grant for longer than a refusal, so new rights apply soon. */
export function verdictTtlMs(
  verdict: MetricsVerdict,
  ttl: { allowedMs: number; deniedMs: number },
): number {
  return verdict === 200 ? ttl.allowedMs : ttl.deniedMs;
}

/**
 * A map with a time to live per entry and at most `maxEntries` entries: past that, the oldest
 * entry goes first, so a caller sending a new token each time cannot grow it without end.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();
  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expires <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    this.entries.delete(key);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    this.entries.set(key, { value, expires: this.now() + ttlMs });
  }

  get size(): number {
    return this.entries.size;
  }
}

export interface MetricsAuthorizer {
  /** The verdict for a request with this Authorization header. */
  check(authorization: string | undefined): Promise<MetricsVerdict>;
}

export interface ReviewOptions {
  /** The non-resource URL the right is asked for (default /metrics). */
  path?: string;
  /** How long a grant is cached (default 2 min, as kube-rbac-proxy's authentication cache). */
  allowedTtlMs?: number;
  /** How long a refusal is cached (default 10 s: a new binding takes effect soon). */
  deniedTtlMs?: number;
  /** Tokens remembered at most (default 256). */
  maxEntries?: number;
  now?: () => number;
}

interface TokenReviewStatus {
  authenticated?: boolean;
  user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
}

/** Asks the API server: a TokenReview, then a SubjectAccessReview, through `rest`. */
export class ReviewingMetricsAuthorizer implements MetricsAuthorizer {
  private readonly cache: TtlCache<MetricsVerdict>;
  private readonly path: string;
  private readonly ttl: { allowedMs: number; deniedMs: number };

  constructor(
    private readonly rest: KubeRest,
    o: ReviewOptions = {},
  ) {
    this.cache = new TtlCache(o.maxEntries ?? 256, o.now);
    this.path = o.path ?? '/metrics';
    this.ttl = { allowedMs: o.allowedTtlMs ?? 120_000, deniedMs: o.deniedTtlMs ?? 10_000 };
  }

  async check(authorization: string | undefined): Promise<MetricsVerdict> {
    const token = bearerToken(authorization);
    if (!token) return metricsVerdict({ token: false });
    // The token itself is never kept, only its hash.
    const key = createHash('sha256').update(token).digest('hex');
    const cached = this.cache.get(key);
    if (cached) return cached;
    const verdict = await this.review(token);
    this.cache.set(key, verdict, verdictTtlMs(verdict, this.ttl));
    return verdict;
  }

  private async review(token: string): Promise<MetricsVerdict> {
    const tr = await this.rest.request<{ status?: TokenReviewStatus }>(
      'POST',
      '/apis/authentication.k8s.io/v1/tokenreviews',
      {
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenReview',
          spec: { token },
        },
      },
    );
    const status = tr.body.status ?? {};
    if (!status.authenticated || !status.user?.username)
      return metricsVerdict({ token: true, authenticated: false });
    const user = status.user;
    const sar = await this.rest.request<{ status?: { allowed?: boolean } }>(
      'POST',
      '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      {
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user: user.username,
            ...(user.uid ? { uid: user.uid } : {}),
            groups: user.groups ?? [],
            ...(user.extra ? { extra: user.extra } : {}),
            nonResourceAttributes: { path: this.path, verb: 'get' },
          },
        },
      },
    );
    return metricsVerdict({
      token: true,
      authenticated: true,
      allowed: sar.body.status?.allowed === true,
    });
  }
}

const REASONS: Record<401 | 403, string> = {
  401: 'Unauthorized: send a service account token (Authorization: Bearer <token>)\n',
  403: 'Forbidden: the caller may not get /metrics (bind it to the ClusterRole vmplane-metrics-reader)\n',
};

/**
 * Answers a /metrics request: `metrics()` when the authorizer allows it, 401 or 403 otherwise,
 * 500 when the reviews could not be made (the API server unreachable): never the metrics then.
 */
export async function serveMetrics(
  req: IncomingMessage,
  res: ServerResponse,
  authorizer: MetricsAuthorizer,
  metrics: () => Promise<{ contentType: string; text: string }>,
): Promise<void> {
  let verdict: MetricsVerdict;
  try {
    verdict = await authorizer.check(req.headers.authorization);
  } catch (e) {
    res
      .writeHead(500, { 'Content-Type': 'text/plain' })
      .end(`could not check the caller's rights: ${(e as Error).message}\n`);
    return;
  }
  if (verdict !== 200) {
    res
      .writeHead(verdict, {
        'Content-Type': 'text/plain',
        ...(verdict === 401 ? { 'WWW-Authenticate': 'Bearer' } : {}),
      })
      .end(REASONS[verdict]);
    return;
  }
  const { contentType, text } = await metrics();
  res.writeHead(200, { 'Content-Type': contentType }).end(text);
}
