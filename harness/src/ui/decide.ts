// What the UI server does with one request, decided from the request's facts alone: refuse it,
// trade the printed token for a cookie, serve a file, or forward it to exactly one upstream URL.
// The target is parsed once (target.ts); the guard (guard.ts), the route and the upstream URL
// (upstream.ts) all use that parsed form. Pure, so that a property test can try many thousands
// of requests (decide.property.test.ts); server.ts only does the I/O.
import { guard } from './guard.ts';
import { canonicalPath, parseTarget, type Target } from './target.ts';
import { unsafeRawUpstreamUrl, upstreamOf, upstreamUrl, type Built } from './upstream.ts';

export interface RequestFacts {
  method: string;
  /** The request target exactly as received. */
  url: string;
  host: string | undefined;
  origin: string | undefined;
  cookie: string | undefined;
  /** A websocket upgrade. */
  upgrade: boolean;
  /** The Sec-Fetch-* headers browsers send (guard.ts says what each allows). */
  secFetchSite: string | undefined;
  secFetchMode: string | undefined;
  secFetchDest: string | undefined;
}

export interface DecideConfig {
  token: string;
  /** The port the server listens on (its Host and Origin carry it). */
  port: number;
  clusterName: string;
  /** The API server's URL, from the kubeconfig. */
  api: string;
  /** API paths with this prefix go to `target` instead (tests play KubeVirt's subresource API). */
  override?: { prefix: string; target: string };
  /** The icon folder is there: /iconify/mdi.json is answered. */
  iconify: boolean;
  /**
   * TESTS ONLY: build the upstream URL as before the fix (the raw path resolved against the API
   * server's URL, the path checked only in its normalized form). Proves that the property test
   * catches that bug; never set outside tests.
   */
  unsafeRawUpstreamPath?: boolean;
}

export type Refusal = { action: 'refuse'; code: 400 | 401 | 403 | 404; message: string };

export type Decision =
  | Refusal
  | { action: 'set-cookie'; location: string }
  | { action: 'proxy'; url: URL; to: 'api' | 'override' }
  | { action: 'file'; folder: 'harness' | 'plugin'; file: string; fallback?: string }
  | { action: 'plugins' }
  | { action: 'iconify'; query: string };

type Route =
  | { kind: 'api'; path: string }
  | { kind: 'plugins' }
  | { kind: 'iconify' }
  | { kind: 'file'; folder: 'harness' | 'plugin'; file: string; fallback?: string };

/** Where a parsed target goes. Only /clusters/<this cluster>/... reaches the API server. */
export function routeOf(t: Target, clusterName: string, iconify: boolean): Route {
  const [first, second, ...rest] = t.segments;
  if (first === 'clusters' && second === clusterName)
    return { kind: 'api', path: canonicalPath(rest, t.trailingSlash) };
  if (first === 'plugins' && t.segments.length === 1 && !t.trailingSlash)
    return { kind: 'plugins' };
  if (first === 'plugins' && second === 'vmplane')
    return { kind: 'file', folder: 'plugin', file: rest.join('/') };
  if (iconify && t.segments.join('/') === 'iconify/mdi.json') return { kind: 'iconify' };
  // Headlamp's routes (/c/<cluster>/...) are the page's: index.html answers what is not a file.
  return { kind: 'file', folder: 'harness', file: t.segments.join('/'), fallback: 'index.html' };
}

/** The one URL an API path goes to: the override's for its prefix, the API server's otherwise. */
export function upstreamFor(
  c: DecideConfig,
  path: string,
  query: string,
): { built: Built; to: 'api' | 'override' } {
  const o = c.override;
  if (o && path.startsWith(o.prefix))
    return { built: upstreamUrl(upstreamOf(o.target), path, query), to: 'override' };
  return { built: upstreamUrl(upstreamOf(c.api), path, query), to: 'api' };
}

/** The pre-fix handling of API paths, restored only by `unsafeRawUpstreamPath` (tests). */
function unsafeRaw(f: RequestFacts, c: DecideConfig): Decision | undefined {
  const prefix = `/clusters/${c.clusterName}/`;
  if (!f.url.startsWith(prefix)) return undefined;
  const normalized = new URL(f.url, 'http://x');
  if (normalized.pathname.includes('//') || normalized.pathname.includes('\\')) return undefined;
  const g = guard(
    { ...f, path: normalized.pathname, query: normalized.search.slice(1), api: true },
    c,
  );
  if (g.action !== 'pass') return g;
  const raw = `/${f.url.slice(prefix.length)}`;
  const o = c.override;
  const to = o && raw.startsWith(o.prefix) ? 'override' : 'api';
  const built = unsafeRawUpstreamUrl(to === 'override' && o ? o.target : c.api, raw);
  return built.ok
    ? { action: 'proxy', url: built.url, to }
    : { action: 'refuse', code: 400, message: built.message };
}

export function decide(f: RequestFacts, c: DecideConfig): Decision {
  if (c.unsafeRawUpstreamPath) {
    const d = unsafeRaw(f, c);
    if (d) return d;
  }
  const parsed = parseTarget(f.url);
  if (!parsed.ok) return { action: 'refuse', code: 400, message: parsed.message };
  const t = parsed.target;
  const r = routeOf(t, c.clusterName, c.iconify);
  const path = canonicalPath(t.segments, t.trailingSlash);
  const g = guard({ ...f, path, query: t.query, api: r.kind === 'api' }, c);
  if (g.action !== 'pass') return g;
  if (f.upgrade && r.kind !== 'api')
    return {
      action: 'refuse',
      code: 404,
      message: `websockets go to /clusters/${c.clusterName}/ only`,
    };
  switch (r.kind) {
    case 'api': {
      const { built, to } = upstreamFor(c, r.path, t.query);
      if (!built.ok) return { action: 'refuse', code: 400, message: built.message };
      return { action: 'proxy', url: built.url, to };
    }
    case 'plugins':
      return { action: 'plugins' };
    case 'iconify':
      return { action: 'iconify', query: t.query };
    case 'file':
      return { action: 'file', folder: r.folder, file: r.file, fallback: r.fallback };
  }
}
