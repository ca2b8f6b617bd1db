// The local UI: serves the Headlamp harness page and the built plugin, and does what Headlamp's
// backend does for them: forwards /clusters/<name>/<path> (HTTP and websocket upgrades, for
// watches and the serial console) to the cluster's API server with the kubeconfig's credentials.
import { KubeConfig } from '@kubernetes/client-node';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { decide, type DecideConfig, type Decision, type RequestFacts } from './decide.ts';
import { tokenCookie, tokenCookieName, TOKEN_PARAM } from './guard.ts';

export interface UiServerOptions {
  kubeconfig: string;
  /** Name of the cluster in URLs (/c/<name>/...). */
  clusterName?: string;
  /** Folder with the harness page (index.html and assets). */
  harnessDir: string;
  /** Folder with the built plugin (main.js), served at /plugins/vmplane/. */
  pluginDir: string;
  host?: string;
  port?: number;
  /** @iconify/icons-mdi, to answer the icon requests Headlamp's components make (offline). */
  iconDir?: string;
  /** Send API paths with this prefix to another server instead (tests use it to play KubeVirt's subresource API). */
  override?: { prefix: string; target: string; ca?: string };
  /** The token the page must bring (see guard.ts); a random one for each start by default. */
  token?: string;
  /** TESTS ONLY: restore the pre-fix raw upstream path (decide.ts says why it exists). */
  unsafeRawUpstreamPath?: boolean;
  /**
   * Told each decision before it is carried out; a `proxy` decision's URL is exactly the one
   * then dialled (tests record where the server goes and what it refused).
   */
  onDecision?: (facts: RequestFacts, decision: Decision) => void;
}

export interface UiServer {
  url: string;
  clusterUrl: string;
  /** This start's token: the printed address carries it once, a cookie after that. */
  token: string;
  /** The name of the cookie that carries the token (it holds the port: guard.ts says why). */
  cookieName: string;
  /** The address of a page of the UI with the token, as the sandbox prints it. */
  urlWithToken(path: string): string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
};

// Headers a browser sends that the API server must not see (they belong to this hop or would
// confuse its auth).
const DROP = new Set([
  'host',
  'cookie',
  'authorization',
  'origin',
  'referer',
  'connection',
  'upgrade',
  'keep-alive',
  'kubeconfig',
  'x-headlamp-user-id',
]);

export const PLUGIN_LIST = [{ path: 'plugins/vmplane', type: 'development', name: 'vmplane' }];

/**
 * `file` inside `dir`, or undefined when it would leave it. Compared with path.relative, not a
 * string prefix: `dist` + `../dist-x/f` resolves to `dist-x/f`, which starts with `dist`.
 */
export function safeJoin(dir: string, file: string): string | undefined {
  const root = resolve(dir);
  const full = resolve(root, file);
  const rel = relative(root, full);
  const outside = rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
  return rel === '' || outside ? undefined : full;
}

/** An Iconify API answer (`/iconify/mdi.json?icons=a,b`) from the icon files of @iconify/icons-mdi. */
export function iconifyAnswer(iconDir: string, url: URL): object {
  const icons: Record<string, unknown> = {};
  const notFound: string[] = [];
  for (const name of (url.searchParams.get('icons') ?? '').split(',').filter(Boolean)) {
    const file = /^[a-z0-9-]+$/.test(name) ? join(iconDir, `${name}.js`) : '';
    const m =
      file && existsSync(file)
        ? /const data = (\{[\s\S]*?\});/.exec(readFileSync(file, 'utf8'))
        : null;
    if (m?.[1]) icons[name] = JSON.parse(m[1]);
    else notFound.push(name);
  }
  return { prefix: 'mdi', icons, ...(notFound.length ? { not_found: notFound } : {}) };
}

/** What the server needs to answer: the options, the decision's config and the API server's TLS. */
interface ProxyContext {
  o: UiServerOptions;
  config: DecideConfig;
  /** The kubeconfig's TLS options (the admin client certificate) for the API server. */
  tls: https.RequestOptions;
}

/** A header as one string: repeated ones are joined, and then match no value the guard allows. */
function one(h: string | string[] | undefined): string | undefined {
  return Array.isArray(h) ? h.join(', ') : h;
}

function factsOf(req: IncomingMessage, upgrade: boolean): RequestFacts {
  return {
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    host: req.headers.host,
    origin: one(req.headers.origin),
    cookie: req.headers.cookie,
    upgrade,
    secFetchSite: one(req.headers['sec-fetch-site']),
    secFetchMode: one(req.headers['sec-fetch-mode']),
    secFetchDest: one(req.headers['sec-fetch-dest']),
  };
}

/** The TLS options for a proxied request: the API server's credentials go to it alone. */
function tlsFor(c: ProxyContext, to: 'api' | 'override'): https.RequestOptions {
  if (to === 'api') return { ...c.tls };
  const ca = c.o.override?.ca;
  return ca ? { ca } : {};
}

/**
 * The browser's headers, less those of this hop, plus the credentials the kubeconfig puts in
 * headers (a bearer token): those win over anything the browser sent.
 */
export function headersFrom(
  req: Pick<IncomingMessage, 'headers'>,
  credentials: https.RequestOptions,
): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(req.headers)) if (!DROP.has(k) && v !== undefined) out[k] = v;
  const own = credentials.headers;
  if (own && !Array.isArray(own))
    for (const [k, v] of Object.entries(own)) if (v !== undefined) out[k.toLowerCase()] = v;
  return out;
}

function serveFile(res: ServerResponse, dir: string, file: string, fallback?: string): void {
  let full = safeJoin(dir, file || 'index.html');
  if (!full || !existsSync(full) || !statSync(full).isFile())
    full = fallback ? join(dir, fallback) : undefined;
  if (!full || !existsSync(full)) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${file}\n`);
    return;
  }
  res.writeHead(200, {
    'content-type': TYPES[extname(full)] ?? 'application/octet-stream',
    'cache-control': 'no-store',
  });
  // A read that fails after the headers (the file went away) ends this answer, not the process.
  createReadStream(full)
    .on('error', () => res.destroy())
    .pipe(res);
}

/** Forwards one HTTP request to the API server (or the override) with the kubeconfig's credentials. */
function proxyRequest(
  c: ProxyContext,
  to: { url: URL; to: 'api' | 'override' },
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const upstream = https.request(
    to.url,
    { ...tlsFor(c, to.to), method: req.method, headers: headersFrom(req, tlsFor(c, to.to)) },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    },
  );
  upstream.on('error', (e) => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        kind: 'Status',
        status: 'Failure',
        code: 502,
        message: `cannot reach the API server: ${e.message}`,
      }),
    );
    if (process.env.VMPLANE_UI_DEBUG) console.error('proxy error', to.url.pathname, e);
  });
  // The browser went away (a watch closed, a page changed): stop asking upstream.
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
}

/** The decision for a request, told to the onDecision hook. */
function decided(c: ProxyContext, req: IncomingMessage, upgrade: boolean): Decision {
  const facts = factsOf(req, upgrade);
  const d = decide(facts, c.config);
  c.o.onDecision?.(facts, d);
  return d;
}

function handleRequest(c: ProxyContext, req: IncomingMessage, res: ServerResponse): void {
  const d = decided(c, req, false);
  switch (d.action) {
    case 'refuse':
      return void res.writeHead(d.code, { 'content-type': 'text/plain' }).end(`${d.message}\n`);
    case 'set-cookie':
      return void res
        .writeHead(302, {
          'set-cookie': tokenCookie(c.config.token, c.config.port),
          location: d.location,
        })
        .end();
    // What Headlamp's backend answers: the plugins it serves, where, and their folder names.
    case 'plugins':
      return void res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(PLUGIN_LIST));
    case 'iconify':
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(
        JSON.stringify(iconifyAnswer(c.o.iconDir ?? '', new URL(`http://x/?${d.query}`))),
      );
    case 'file': {
      const dir = d.folder === 'plugin' ? c.o.pluginDir : c.o.harnessDir;
      return serveFile(res, dir, d.file, d.fallback);
    }
    case 'proxy':
      return proxyRequest(c, d, req, res);
  }
}

/** Joins the browser's socket and the API server's after both switched protocols. */
function splice(
  socket: Socket,
  head: Buffer,
  up: IncomingMessage,
  upSocket: Socket,
  upHead: Buffer,
): void {
  const lines = [`HTTP/1.1 101 Switching Protocols`];
  for (let i = 0; i < up.rawHeaders.length; i += 2)
    lines.push(`${up.rawHeaders[i]}: ${up.rawHeaders[i + 1]}`);
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  if (upHead.length) socket.write(upHead);
  if (head.length) upSocket.write(head);
  upSocket.pipe(socket).pipe(upSocket);
  const end = (): void => {
    upSocket.destroy();
    socket.destroy();
  };
  upSocket.on('error', end);
  socket.on('error', end);
  upSocket.on('close', end);
  socket.on('close', end);
}

/** Websockets: open the same upgrade to the API server and splice the two sockets. */
function handleUpgrade(c: ProxyContext, req: IncomingMessage, socket: Socket, head: Buffer): void {
  // After 'upgrade' the HTTP server no longer listens to this socket: a browser resetting it
  // while the API server answers would otherwise be an uncaught 'error' that ends the process.
  socket.on('error', () => socket.destroy());
  const d = decided(c, req, true);
  if (d.action !== 'proxy') {
    const [code, message] = d.action === 'refuse' ? [d.code, d.message] : [400, 'not a websocket'];
    socket.end(
      `HTTP/1.1 ${code} Refused\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${message}\n`,
    );
    return;
  }
  const headers = headersFrom(req, tlsFor(c, d.to));
  headers.connection = 'Upgrade';
  headers.upgrade = req.headers.upgrade ?? 'websocket';
  // The API server's websocket handshake refuses a request without an Origin (403, no body).
  headers.origin = d.url.origin;
  // Headlamp adds a protocol carrying its own auth; the API server does not know it.
  const protocols = String(req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p && !p.startsWith('base64url.headlamp.authorization.'));
  if (protocols.length) headers['sec-websocket-protocol'] = protocols.join(', ');
  const upstream = https.request(d.url, { ...tlsFor(c, d.to), method: 'GET', headers });
  upstream.on('upgrade', (up, upSocket, upHead) => splice(socket, head, up, upSocket, upHead));
  upstream.on('response', (up) => {
    // Refused (403, 404...): pass the answer on and close.
    socket.write(`HTTP/1.1 ${up.statusCode} ${up.statusMessage}\r\nconnection: close\r\n\r\n`);
    up.pipe(socket);
  });
  // Before the switch, the browser still waits for an answer: say the API server is not there.
  upstream.on('error', (e) => {
    if (socket.writable)
      socket.end(
        `HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\ncannot reach the API server: ${e.message}\n`,
      );
    else socket.destroy();
  });
  upstream.end();
}

/** A handler threw: the request gets 500 (or its socket closes), the log says why, the server goes on. */
function failed(req: IncomingMessage, e: unknown): void {
  console.error(
    `vmplane UI: ${req.method ?? '?'} ${JSON.stringify(req.url ?? '')} failed:`,
    e instanceof Error ? (e.stack ?? e.message) : e,
  );
}

export async function startUiServer(o: UiServerOptions): Promise<UiServer> {
  const clusterName = o.clusterName ?? 'vmplane';
  const kc = new KubeConfig();
  kc.loadFromFile(o.kubeconfig);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`kubeconfig ${o.kubeconfig} has no current cluster`);
  const tls: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(tls);
  const token = o.token ?? randomBytes(16).toString('hex');
  const c: ProxyContext = {
    o,
    tls,
    config: {
      token,
      port: 0,
      clusterName,
      api: cluster.server,
      ...(o.override ? { override: o.override } : {}),
      iconify: !!o.iconDir,
      ...(o.unsafeRawUpstreamPath ? { unsafeRawUpstreamPath: true } : {}),
    },
  };
  const server = http.createServer((req, res) => {
    try {
      handleRequest(c, req, res);
    } catch (e) {
      failed(req, e);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('the UI server failed to answer this request; its log says why\n');
    }
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    try {
      handleUpgrade(c, req, socket, head);
    } catch (e) {
      failed(req, e);
      socket.destroy();
    }
  });
  // A socket's own errors (a browser resetting the connection) are not the server's.
  server.on('clientError', (_e, socket: Socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });

  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => {
      server.off('error', rej);
      res();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  c.config.port = port;
  const url = `http://${o.host ?? '127.0.0.1'}:${port}`;
  return {
    url,
    clusterUrl: `${url}/c/${clusterName}`,
    token,
    cookieName: tokenCookieName(port),
    urlWithToken: (path) => `${url}${path}${path.includes('?') ? '&' : '?'}${TOKEN_PARAM}=${token}`,
    close: () =>
      new Promise<void>((res) => {
        for (const s of sockets) s.destroy();
        server.close(() => res());
      }),
  };
}
