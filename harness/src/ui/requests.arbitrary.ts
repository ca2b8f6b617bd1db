// fast-check arbitraries for requests an attacker (or a confused browser) could send the UI
// server: raw paths built from the pieces that fool URL parsers (`//`, `..`, `%2e`, `%2f`, `\`,
// `@`, `:`, hosts, malformed escapes, unicode), Host and Origin headers of this and other ports
// and names, cookies of the right and wrong names, Sec-Fetch-* values, upgrades. Shared by the
// unit property test (decide.property.test.ts) and the one over real sockets (test/sandbox).
import fc from 'fast-check';
import type { RequestFacts } from './decide.ts';

export interface RequestWorld {
  /** The UI server's port. */
  port: number;
  /** The port of a loopback listener the proxy must never dial. */
  attackerPort: number;
  clusterName: string;
  token: string;
}

function hostPiece(w: RequestWorld): fc.Arbitrary<string> {
  return fc.constantFrom(
    `127.0.0.1:${w.attackerPort}`,
    `localhost:${w.attackerPort}`,
    `[::1]:${w.attackerPort}`,
    'evil.example',
    `user@127.0.0.1:${w.attackerPort}`,
    `@127.0.0.1:${w.attackerPort}`,
    `%40127.0.0.1:${w.attackerPort}`,
    `https:`,
    `http:127.0.0.1:${w.attackerPort}`,
  );
}

function segment(w: RequestWorld): fc.Arbitrary<string> {
  const host = hostPiece(w);
  const dots = fc.constantFrom('..', '.', '%2e%2e', '%2E%2e', '%2e', '.%2e', '...');
  const slashes = fc.constantFrom('', '%2f', '%2F', '%5c', '%5C', '\\', '%2f%2f', '\\\\', '%252f');
  const odd = fc.constantFrom(
    '%E0%A4%A',
    '%E0%A4',
    '%',
    '%zz',
    '%00',
    '%0a',
    'é',
    '%C3%A9',
    '%F0%9F%98%80',
    '😀',
    '%ff',
    'a b',
    '#x',
    '?',
    ';x=1',
  );
  const plain = fc.constantFrom('api', 'v1', 'apis', 'namespaces', 'pods', 'clusters', 'x');
  const word = fc.string({
    unit: fc.constantFrom(...'ab.:@%/\\2eEfF5c?#é'.split('')),
    maxLength: 8,
  });
  // Mostly what a page asks for, so that requests get through to where the attack pieces matter.
  return fc.oneof(
    { weight: 12, arbitrary: plain },
    { weight: 3, arbitrary: host },
    { weight: 3, arbitrary: dots },
    { weight: 3, arbitrary: slashes },
    { weight: 2, arbitrary: odd },
    { weight: 1, arbitrary: word },
  );
}

/** A raw request target: mostly under the cluster's API prefix, some elsewhere or odd forms. */
export function rawTarget(w: RequestWorld): fc.Arbitrary<string> {
  const segs = fc.array(segment(w), { minLength: 0, maxLength: 7 }).map((s) => s.join('/'));
  const start = fc.constantFrom(
    `/clusters/${w.clusterName}/`,
    `/clusters/${w.clusterName}/apis/subresources.kubevirt.io/`,
    `/clusters/${w.clusterName}`,
    '/clusters/other/',
    '/plugins/vmplane/',
    '/c/sandbox/',
    '/',
    '//',
    `http://127.0.0.1:${w.attackerPort}/`,
    '',
  );
  const query = fc.oneof(
    fc.constant(''),
    fc.constantFrom(
      `?token=${w.token}`,
      '?watch=1',
      `?x=//127.0.0.1:${w.attackerPort}`,
      '?a=%E0%A4%A',
      '?#frag',
      '?@evil.example',
    ),
    fc
      .string({ unit: fc.constantFrom(...'a=&%/?#@:.é'.split('')), maxLength: 10 })
      .map((q) => `?${q}`),
  );
  const anyShape = fc.tuple(start, segs, query).map(([s, p, q]) => `${s}${p}${q}`);
  // The shape of the attack on the pre-fix server: an empty or slash-like segment, a host, then
  // enough `..` for a normalizing check to see a clean path (/clusters/<c>//host/../../api).
  const smuggled = fc
    .tuple(
      fc.constantFrom('/', '//', '/%2f', '/\\', '/\\/', '///'),
      hostPiece(w),
      fc.array(fc.constantFrom('..', '%2e%2e', '.', '%2E.'), { maxLength: 4 }),
      segs,
      query,
    )
    .map(
      ([lead, host, dots, rest, q]) =>
        `/clusters/${w.clusterName}${lead}${host}/${dots.join('/')}${dots.length ? '/' : ''}${rest}${q}`,
    );
  // A path the page itself would ask for, so that enough requests are forwarded for the origin
  // property to say something.
  const clean = fc
    .tuple(
      fc.array(fc.constantFrom('api', 'v1', 'namespaces', 'default', 'pods', 'x%3Ay', 'a%20b'), {
        maxLength: 5,
      }),
      fc.constantFrom('', '?watch=0', '?limit=1'),
    )
    .map(([p, q]) => `/clusters/${w.clusterName}/${p.join('/')}${q}`);
  return fc.oneof(
    { weight: 4, arbitrary: anyShape },
    { weight: 1, arbitrary: smuggled },
    { weight: 1, arbitrary: clean },
  );
}

/** The cookie header: the right name and token, other names, ports and values, or none. */
function cookie(w: RequestWorld): fc.Arbitrary<string | undefined> {
  const right = `vmplane-ui-token-${w.port}=${w.token}`;
  return fc.constantFrom(
    right,
    right,
    right,
    right,
    undefined,
    `vmplane-ui-token=${w.token}`,
    `vmplane-ui-token-${w.attackerPort}=${w.token}`,
    `vmplane-ui-token-${w.port}=wrong`,
    `other=1; ${right}`,
    `vmplane-ui-token-${w.port}=x; ${right}`,
  );
}

export const OWN_HOSTS = (port: number): string[] => [
  `127.0.0.1:${port}`,
  `localhost:${port}`,
  `[::1]:${port}`,
];

/** The Sec-Fetch-* triple: what a browser sends for the page's fetch, a websocket, a typed address, or anything. */
function secFetch(): fc.Arbitrary<[string | undefined, string | undefined, string | undefined]> {
  const opt = (...v: string[]): fc.Arbitrary<string | undefined> =>
    fc.constantFrom<string | undefined>(undefined, ...v);
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc.constant(['same-origin', 'cors', 'empty'] as [string, string, string]),
    },
    {
      weight: 2,
      arbitrary: fc.constant(['same-origin', 'websocket', 'websocket'] as [string, string, string]),
    },
    {
      weight: 2,
      arbitrary: fc.constant(['none', 'navigate', 'document'] as [string, string, string]),
    },
    {
      weight: 3,
      arbitrary: fc.constant([undefined, undefined, undefined] as [
        undefined,
        undefined,
        undefined,
      ]),
    },
    {
      weight: 4,
      arbitrary: fc.tuple(
        opt('same-origin', 'same-site', 'cross-site', 'none', 'junk'),
        opt('cors', 'no-cors', 'navigate', 'same-origin', 'websocket'),
        opt('empty', 'image', 'script', 'document', 'websocket', 'iframe'),
      ),
    },
  );
}

export function requestFacts(w: RequestWorld): fc.Arbitrary<RequestFacts> {
  const own = OWN_HOSTS(w.port);
  const host = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom<string | undefined>(...own) },
    {
      weight: 2,
      arbitrary: fc.constantFrom<string | undefined>(
        `LOCALHOST:${w.port}`,
        `evil.example:${w.port}`,
        `127.0.0.1:${w.attackerPort}`,
        '127.0.0.1',
        undefined,
      ),
    },
  );
  // The Host's own origin, none, or a foreign one.
  const origin = fc.constantFrom(
    'own',
    'own',
    'none',
    'none',
    'null',
    `http://127.0.0.1:${w.attackerPort}`,
    `https://127.0.0.1:${w.port}`,
    `http://localhost:${w.port}`,
    'http://evil.example',
  );
  // The page's own request, so that the path alone decides; or any mix of headers.
  const pageOwn = fc.record({
    method: fc.constantFrom('GET', 'POST', 'DELETE'),
    url: rawTarget(w),
    host: fc.constantFrom<string | undefined>(...own),
    origin: fc.constantFrom('own', 'none'),
    cookie: fc.constant<string | undefined>(`vmplane-ui-token-${w.port}=${w.token}`),
    upgrade: fc.constant(false),
    fetch: fc.constantFrom<[string | undefined, string | undefined, string | undefined]>(
      ['same-origin', 'cors', 'empty'],
      [undefined, undefined, undefined],
    ),
  });
  const anyMix = fc.record({
    method: fc.constantFrom('GET', 'POST', 'DELETE'),
    url: rawTarget(w),
    host,
    origin,
    cookie: cookie(w),
    upgrade: fc.boolean(),
    fetch: secFetch(),
  });
  return fc
    .oneof({ weight: 1, arbitrary: pageOwn }, { weight: 2, arbitrary: anyMix })
    .map(({ origin: o, fetch: [site, mode, dest], ...r }) => ({
      ...r,
      origin: o === 'own' ? `http://${r.host ?? ''}` : o === 'none' ? undefined : o,
      secFetchSite: site,
      secFetchMode: mode,
      secFetchDest: dest,
    }));
}

/** The request comes from another site or port, by the browser's word or its own headers. */
export function isForeign(f: RequestFacts, port: number): boolean {
  const own = OWN_HOSTS(port);
  const host = f.host?.toLowerCase();
  if (host === undefined || !own.includes(host)) return true;
  if (f.origin !== undefined && f.origin.toLowerCase() !== `http://${host}`) return true;
  return f.secFetchSite !== undefined && !['same-origin', 'none'].includes(f.secFetchSite);
}
