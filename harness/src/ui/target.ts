// The request target, parsed once. Every decision (guard, route, file, upstream) is made on this
// parsed form, and the upstream URL is built from its canonical path, never from the raw one: a
// path that a URL parser would normalize (`//host`, `..`, `%2e%2e`, `%2f`, `\`) could otherwise
// mean one thing to the check and another to the request (the path `//127.0.0.1:9443/../../api`
// passed a check on the normalized form and, resolved against the API server's URL, named
// another host). So what could be normalized is refused here instead. Pure.

export interface Target {
  /** The decoded segments: none empty, none `.` or `..`, none holding a slash, a backslash or a control character. */
  segments: string[];
  /** A slash after the last segment (`/c/sandbox/`). */
  trailingSlash: boolean;
  /** The query as sent, without its `?` (visible ASCII, no `#`). */
  query: string;
}

export type Parsed = { ok: true; target: Target } | { ok: false; message: string };

// RFC 3986 pchar: unreserved, sub-delims, ':', '@' and well-formed percent-escapes.
const SEGMENT = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})*$/;
// Visible ASCII without '#' (a fragment never reaches a server).
const QUERY = /^[!"$-~]*$/;
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const CONTROL = /[\u0000-\u001f\u007f]/;

const refuse = (raw: string, why: string): Parsed => ({
  ok: false,
  message: `path "${raw}" is not accepted: ${why}`,
});

/** Parses a request target in origin form (`/path?query`); anything else is refused with why. */
export function parseTarget(raw: string): Parsed {
  const shown = raw.length > 200 ? `${raw.slice(0, 200)}...` : raw;
  if (!raw.startsWith('/')) return refuse(shown, 'only a path starting with / is served');
  const q = raw.indexOf('?');
  const rawPath = q < 0 ? raw : raw.slice(0, q);
  const query = q < 0 ? '' : raw.slice(q + 1);
  if (!QUERY.test(query)) return refuse(shown, 'the query holds characters a URL may not');
  const trailingSlash = rawPath.length > 1 && rawPath.endsWith('/');
  const body = rawPath.slice(1, trailingSlash ? -1 : undefined);
  const rawSegments = body === '' ? [] : body.split('/');
  const segments: string[] = [];
  for (const s of rawSegments) {
    if (s === '') return refuse(shown, 'no empty segments (//)');
    if (!SEGMENT.test(s))
      return refuse(shown, 'characters a path may not hold (a backslash, a bare %...)');
    let d: string;
    try {
      d = decodeURIComponent(s);
    } catch {
      return refuse(shown, 'a malformed percent-escape');
    }
    if (d === '.' || d === '..') return refuse(shown, 'no . or .. segments');
    if (d.includes('/') || d.includes('\\'))
      return refuse(shown, 'no encoded slashes or backslashes (%2f, %5c)');
    if (CONTROL.test(d)) return refuse(shown, 'no control characters');
    segments.push(d);
  }
  return { ok: true, target: { segments, trailingSlash, query } };
}

/** The canonical path of decoded segments: each one percent-encoded, joined by single slashes. */
export function canonicalPath(segments: string[], trailingSlash: boolean): string {
  const path = `/${segments.map(encodeURIComponent).join('/')}`;
  return trailingSlash && segments.length > 0 ? `${path}/` : path;
}
