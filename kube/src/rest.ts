// A thin REST client for what @kubernetes/client-node's typed serializer gets wrong: it rewrites
// known kinds through its models, and nested JSONSchemaProps lose `x-kubernetes-validations` on
// the way. Objects sent through here reach the API server exactly as written. Authentication
// and TLS still come from client-node's KubeConfig.
import { Agent, request, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export class ApiError extends Error {
  readonly code: number;
  readonly body: unknown;
  /** The answer's Retry-After, in seconds, when it had one (429 and 503 carry it). */
  retryAfterS?: number;
  constructor(code: number, body: unknown) {
    const msg =
      body && typeof body === 'object' && 'message' in body
        ? String((body as { message: unknown }).message)
        : String(body);
    super(`HTTP ${code}: ${msg}`);
    this.code = code;
    this.body = body;
  }
}

/** Whether `e` is the API server's 404: the object (or its kind) is not there. */
export function isNotFound(e: unknown): boolean {
  return e instanceof ApiError && e.code === 404;
}

/** Rethrows anything but a 404; a 404 becomes `fallback` (undefined by default). */
export function ignoreNotFound<T = undefined>(e: unknown, fallback?: T): T {
  if (isNotFound(e)) return fallback as T;
  throw e;
}

/** Requests the API server has not answered in full within this long fail (KubeRest's timeoutMs). */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** A request that got no answer in time. */
export class RequestTimeout extends Error {
  constructor(method: string, path: string, ms: number) {
    super(`${method} ${path}: no complete answer from the API server in ${ms / 1000} s`);
  }
}

export interface ResourceInfo {
  plural: string;
  namespaced: boolean;
}

export interface KubeObjectLike {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
}

type RequestBody = { body?: unknown; contentType?: string; headers?: Record<string, string> };

export class KubeRest {
  private readonly kc: KubeConfig;
  private readonly agent: Agent;
  private readonly discovery = new Map<string, Promise<Map<string, ResourceInfo>>>();

  private readonly timeoutMs: number;

  /**
   * `maxSockets` caps the connections kept to the API server (16 unless said otherwise).
   * `timeoutMs` is every request's deadline, from sending to the last byte of the answer (30 s by
   * default): a half-open link, an API server that hangs, or one that trickles a byte now and then
   * (which an idle timeout would never catch) fails the request instead of holding it forever.
   * Nothing long-lived goes through request(): watches are the informers', with their own
   * timeoutSeconds and idle handling.
   */
  constructor(
    kc: KubeConfig,
    opts: { maxSockets?: number; timeoutMs?: number; agent?: Agent } = {},
  ) {
    this.kc = kc;
    this.agent = opts.agent ?? new Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 16 });
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /**
   * This client with another deadline: the same API server and connections (closing either
   * closes both).
   */
  withTimeout(timeoutMs: number): KubeRest {
    return new KubeRest(this.kc, { timeoutMs, agent: this.agent });
  }

  /**
   * One request. A 429 that says when to come back (the API server's "storage is (re)initializing"
   * for a CRD just established, its max-in-flight limit) is retried after that many seconds (at
   * most 5), up to 10 times, as client-go does; every other error is the caller's.
   */
  async request<T = unknown>(
    method: string,
    path: string,
    opts: RequestBody = {},
  ): Promise<{ status: number; body: T; headers: Record<string, string | string[] | undefined> }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once<T>(method, path, opts);
      } catch (e) {
        const wait = e instanceof ApiError && e.code === 429 ? e.retryAfterS : undefined;
        if (wait === undefined || attempt >= 10) throw e;
        await new Promise((r) => setTimeout(r, Math.min(wait, 5) * 1000));
      }
    }
  }

  private async once<T>(
    method: string,
    path: string,
    opts: RequestBody,
  ): Promise<{ status: number; body: T; headers: Record<string, string | string[] | undefined> }> {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const url = new URL(path, cluster.server);
    const options: RequestOptions = {
      method,
      agent: this.agent,
      headers: { Accept: 'application/json', ...opts.headers },
    };
    await this.kc.applyToHTTPSOptions(options);
    // client-node puts a new Agent (no keep-alive) on the options at every call, so each request
    // would open a new TLS connection: a full handshake, most of the controllers' CPU under load.
    // The TLS settings stay on the request options; the connections come from our pool.
    // A kubeconfig proxy (proxy-url) keeps client-node's proxy agent: it tunnels through the proxy.
    if (!cluster.proxyUrl) options.agent = this.agent;
    const payload =
      opts.body === undefined
        ? undefined
        : typeof opts.body === 'string'
          ? opts.body
          : JSON.stringify(opts.body);
    if (payload !== undefined) {
      (options.headers as Record<string, string>)['Content-Type'] =
        opts.contentType ?? 'application/json';
      (options.headers as Record<string, string>)['Content-Length'] = String(
        Buffer.byteLength(payload),
      );
    }
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (f: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        f();
      };
      const fail = (e: unknown): void => settle(() => reject(e));
      const req = request(url, options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = text;
          }
          const status = res.statusCode ?? 0;
          if (status >= 400) {
            const e = new ApiError(status, body);
            const after = Number(res.headers['retry-after']);
            if (res.headers['retry-after'] !== undefined && Number.isFinite(after))
              e.retryAfterS = Math.max(0, after);
            fail(e);
          } else settle(() => resolve({ status, body: body as T, headers: res.headers }));
        });
        res.on('error', fail);
      });
      req.on('error', fail);
      // A deadline on the whole exchange, not req.setTimeout (an idle timeout, reset by every byte).
      const deadline = setTimeout(() => {
        const e = new RequestTimeout(method, path, this.timeoutMs);
        fail(e);
        req.destroy(e);
      }, this.timeoutMs);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** Plural and scope of a kind, from discovery (cached per group version). */
  async resource(apiVersion: string, kind: string): Promise<ResourceInfo> {
    let entry = this.discovery.get(apiVersion);
    if (!entry) {
      const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      entry = this.request<{ resources: { name: string; kind: string; namespaced: boolean }[] }>(
        'GET',
        base,
      ).then(({ body }) => {
        const m = new Map<string, ResourceInfo>();
        for (const r of body.resources)
          if (!r.name.includes('/')) m.set(r.kind, { plural: r.name, namespaced: r.namespaced });
        return m;
      });
      this.discovery.set(apiVersion, entry);
      entry.catch(() => this.discovery.delete(apiVersion));
    }
    const info = (await entry).get(kind);
    if (!info) {
      this.discovery.delete(apiVersion);
      throw new ApiError(404, {
        message: `the server has no resource for kind ${kind} in ${apiVersion}`,
      });
    }
    return info;
  }

  /** The collection path of a kind, in a namespace when it is namespaced. */
  async collectionPath(apiVersion: string, kind: string, namespace?: string): Promise<string> {
    const info = await this.resource(apiVersion, kind);
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    if (info.namespaced) {
      if (!namespace) throw new Error(`${kind} is namespaced: metadata.namespace is required`);
      return `${base}/namespaces/${encodeURIComponent(namespace)}/${info.plural}`;
    }
    return `${base}/${info.plural}`;
  }

  async objectPath(obj: KubeObjectLike): Promise<string> {
    if (!obj.metadata?.name) throw new Error(`${obj.kind}: metadata.name is required`);
    return `${await this.collectionPath(obj.apiVersion, obj.kind, obj.metadata.namespace)}/${encodeURIComponent(obj.metadata.name)}`;
  }

  /** Server-side apply, as `kubectl apply --server-side --force-conflicts` does. */
  async apply<T = KubeObjectLike>(
    obj: KubeObjectLike,
    opts: { fieldManager?: string; dryRun?: boolean; force?: boolean } = {},
  ): Promise<T> {
    const q = new URLSearchParams({
      fieldManager: opts.fieldManager ?? 'vmplane',
      force: String(opts.force ?? true),
    });
    if (opts.dryRun) q.set('dryRun', 'All');
    const { body } = await this.request<T>('PATCH', `${await this.objectPath(obj)}?${q}`, {
      body: obj,
      contentType: 'application/apply-patch+yaml',
    });
    return body;
  }

  async create<T = KubeObjectLike>(
    obj: KubeObjectLike,
    opts: { dryRun?: boolean; fieldManager?: string } = {},
  ): Promise<T> {
    const q = new URLSearchParams({ fieldManager: opts.fieldManager ?? 'vmplane' });
    if (opts.dryRun) q.set('dryRun', 'All');
    const path = await this.collectionPath(obj.apiVersion, obj.kind, obj.metadata.namespace);
    return (await this.request<T>('POST', `${path}?${q}`, { body: obj })).body;
  }

  async get<T = KubeObjectLike>(obj: KubeObjectLike): Promise<T> {
    return (await this.request<T>('GET', await this.objectPath(obj))).body;
  }

  async replace<T = KubeObjectLike>(
    obj: KubeObjectLike,
    opts: { dryRun?: boolean } = {},
  ): Promise<T> {
    const q = opts.dryRun ? '?dryRun=All' : '';
    return (await this.request<T>('PUT', `${await this.objectPath(obj)}${q}`, { body: obj })).body;
  }

  async delete(obj: KubeObjectLike): Promise<void> {
    await this.request('DELETE', await this.objectPath(obj));
  }

  close(): void {
    this.agent.destroy();
  }
}

/**
 * The connections a component talks through: the process's own KubeRest when the caller shares
 * it (one pool of connections and one discovery cache per process; the caller closes it), else a
 * new one the component owns and closes when it stops.
 */
export function sharedOrOwnRest(
  kc: KubeConfig,
  shared?: KubeRest,
): { rest: KubeRest; release(): void } {
  if (shared) return { rest: shared, release: () => {} };
  const rest = new KubeRest(kc);
  return { rest, release: () => rest.close() };
}
