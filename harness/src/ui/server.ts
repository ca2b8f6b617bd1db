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
import { guard, tokenCookie, TOKEN_PARAM, type GuardAnswer } from './guard.ts';

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
}

export interface UiServer {
  url: string;
  clusterUrl: string;
  /** This start's token: the printed address carries it once, a cookie after that. */
  token: string;
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

/** Where an incoming path goes: a file, the API server (with the path to ask for), or nowhere. */
export function route(
  url: string,
  clusterName: string,
):
  | { kind: 'api'; path: string }
  | { kind: 'plugin'; file: string }
  | { kind: 'page'; file: string }
  | { kind: 'plugins' }
  | { kind: 'malformed'; message: string } {
  const prefix = `/clusters/${clusterName}/`;
  if (url.startsWith(prefix)) return { kind: 'api', path: `/${url.slice(prefix.length)}` };
  const raw = url.split('?')[0] ?? '/';
  let path: string;
  try {
    path = decodeURIComponent(raw);
  } catch {
    // A browser never sends this; answering it must not end the server.
    return { kind: 'malformed', message: `path "${raw}" has a malformed percent-escape` };
  }
  if (path === '/plugins') return { kind: 'plugins' };
  if (path.startsWith('/plugins/vmplane/'))
    return { kind: 'plugin', file: path.slice('/plugins/vmplane/'.length) };
  return { kind: 'page', file: path.slice(1) };
}

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

/** What the proxy needs to answer: the options, the cluster's name, the API server and its TLS. */
interface ProxyContext {
  o: UiServerOptions;
  clusterName: string;
  api: URL;
  tls: https.RequestOptions;
  token: string;
  /** Set once the server listens. */
  port: number;
}

/** What the guard says about a request; undefined when it may go on. */
function admit(c: ProxyContext, req: IncomingMessage, upgrade: boolean): GuardAnswer | undefined {
  const origin = req.headers.origin;
  const answer = guard(
    { host: req.headers.host, origin, url: req.url ?? '/', cookie: req.headers.cookie, upgrade },
    c.token,
    c.port,
  );
  return answer.action === 'pass' ? undefined : answer;
}

function target(c: ProxyContext, path: string): { url: URL; options: https.RequestOptions } {
  const override = c.o.override;
  if (override && path.startsWith(override.prefix)) {
    return {
      url: new URL(path, override.target),
      options: { ...(override.ca ? { ca: override.ca } : {}) },
    };
  }
  return { url: new URL(path, c.api), options: { ...c.tls } };
}

function headersFrom(req: IncomingMessage): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(req.headers)) if (!DROP.has(k) && v !== undefined) out[k] = v;
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
  createReadStream(full).pipe(res);
}

/** Forwards one HTTP request to the API server (or the override) with the kubeconfig's credentials. */
function proxyRequest(
  c: ProxyContext,
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const t = target(c, path);
  const upstream = https.request(
    t.url,
    { ...t.options, method: req.method, headers: headersFrom(req) },
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
    if (process.env.VMPLANE_UI_DEBUG) console.error('proxy error', path, e);
  });
  // The browser went away (a watch closed, a page changed): stop asking upstream.
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
}

function handleRequest(c: ProxyContext, req: IncomingMessage, res: ServerResponse): void {
  const g = admit(c, req, false);
  if (g?.action === 'refuse')
    return void res.writeHead(g.code, { 'content-type': 'text/plain' }).end(`${g.message}\n`);
  if (g?.action === 'set-cookie')
    return void res
      .writeHead(302, { 'set-cookie': tokenCookie(c.token), location: g.location })
      .end();
  const r = route(req.url ?? '/', c.clusterName);
  if (r.kind === 'malformed')
    return void res.writeHead(400, { 'content-type': 'text/plain' }).end(`${r.message}\n`);
  if (r.kind === 'plugin') return serveFile(res, c.o.pluginDir, r.file);
  // What Headlamp's backend answers: the plugins it serves, where, and their folder names.
  if (r.kind === 'plugins')
    return void res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify(PLUGIN_LIST));
  if (r.kind === 'page' && r.file === 'iconify/mdi.json' && c.o.iconDir) {
    res.writeHead(200, { 'content-type': 'application/json' });
    return void res.end(
      JSON.stringify(iconifyAnswer(c.o.iconDir, new URL(req.url ?? '/', 'http://x'))),
    );
  }
  if (r.kind === 'page') return serveFile(res, c.o.harnessDir, r.file, 'index.html');
  proxyRequest(c, r.path, req, res);
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
  const g = admit(c, req, true);
  if (g?.action === 'refuse') {
    socket.end(
      `HTTP/1.1 ${g.code} Refused\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${g.message}\n`,
    );
    return;
  }
  const r = route(req.url ?? '/', c.clusterName);
  if (r.kind !== 'api') return void socket.destroy();
  const t = target(c, r.path);
  const headers = headersFrom(req);
  headers.connection = 'Upgrade';
  headers.upgrade = req.headers.upgrade ?? 'websocket';
  // The API server's websocket handshake refuses a request without an Origin (403, no body).
  headers.origin = t.url.origin;
  // Headlamp adds a protocol carrying its own auth; the API server does not know it.
  const protocols = String(req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p && !p.startsWith('base64url.headlamp.authorization.'));
  if (protocols.length) headers['sec-websocket-protocol'] = protocols.join(', ');
  const upstream = https.request(t.url, { ...t.options, method: 'GET', headers });
  upstream.on('upgrade', (up, upSocket, upHead) => splice(socket, head, up, upSocket, upHead));
  upstream.on('response', (up) => {
    // Refused (403, 404...): pass the answer on and close.
    socket.write(`HTTP/1.1 ${up.statusCode} ${up.statusMessage}\r\nconnection: close\r\n\r\n`);
    up.pipe(socket);
  });
  upstream.on('error', () => socket.destroy());
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
  const c: ProxyContext = { o, clusterName, api: new URL(cluster.server), tls, token, port: 0 };
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
  c.port = port;
  const url = `http://${o.host ?? '127.0.0.1'}:${port}`;
  return {
    url,
    clusterUrl: `${url}/c/${clusterName}`,
    token,
    urlWithToken: (path) => `${url}${path}${path.includes('?') ? '&' : '?'}${TOKEN_PARAM}=${token}`,
    close: () =>
      new Promise<void>((res) => {
        for (const s of sockets) s.destroy();
        server.close(() => res());
      }),
  };
}
