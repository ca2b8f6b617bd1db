// The URL the proxy asks, built by concatenating the upstream's origin, its base path and the
// canonical path (target.ts), as Headlamp's and the Kubernetes dashboard's backends do: never by
// resolving a path relative to a base URL, which lets `//host` or `..` change the host. And then
// checked: the built URL's origin must be the upstream's, and its path exactly the one asked for
// (a URL parser normalized nothing), or nothing is dialled. Pure.

export interface Upstream {
  /** `https://host:port` */
  origin: string;
  /** The server URL's path without its trailing slash (`''` for most API servers). */
  base: string;
}

/** The origin and base path of a server URL from a kubeconfig or an override. */
export function upstreamOf(server: string): Upstream {
  const u = new URL(server);
  return { origin: u.origin, base: u.pathname.replace(/\/+$/, '') };
}

export type Built = { ok: true; url: URL } | { ok: false; message: string };

/** `path` is canonical (starts with a single slash); `query` goes as sent, after a `?`. */
export function upstreamUrl(up: Upstream, path: string, query: string): Built {
  const wanted = `${up.base}${path}`;
  let url: URL;
  try {
    url = new URL(`${up.origin}${wanted}${query ? `?${query}` : ''}`);
  } catch {
    return { ok: false, message: `path "${path}" does not make a URL` };
  }
  if (url.origin !== up.origin)
    return { ok: false, message: `path "${path}" would leave ${up.origin} (for ${url.origin})` };
  if (url.pathname !== wanted)
    return { ok: false, message: `path "${path}" would be changed to "${url.pathname}"` };
  return { ok: true, url };
}

/**
 * TESTS ONLY: how the proxy built its URL before the fix (the raw path after the cluster's
 * prefix, resolved against the server's URL, with no check). It exists so that a test can prove
 * the property test (decide.property.test.ts) catches that bug; the server uses it only when a
 * test passes `unsafeRawUpstreamPath`.
 */
export function unsafeRawUpstreamUrl(server: string, rawPath: string): Built {
  try {
    return { ok: true, url: new URL(rawPath, server) };
  } catch {
    return { ok: false, message: `path "${rawPath}" does not make a URL` };
  }
}
