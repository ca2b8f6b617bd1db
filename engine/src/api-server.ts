// The local engine's subresources.kubevirt.io/v1, served as an aggregated API the way KubeVirt's
// virt-api serves it: the API server proxies /apis/subresources.kubevirt.io/... here over TLS with
// its front-proxy client certificate and names the user in X-Remote-* headers; this server checks
// the certificate against the request-header CA that kube-system/extension-apiserver-authentication
// publishes, then asks the API server with a SubjectAccessReview whether the user may do it. Only
// a loopback port is used: the APIService's Service is an ExternalName of localhost.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { ApiError, isNotFound, type KubeRest } from '../../kube/src/rest.ts';
import type { KeyPair } from '../../kube/src/pki.ts';
import { getLive } from '../../kube/src/ownership.ts';
import type { LocalEngine } from './controller.ts';
import { EngineError } from './controller.ts';
import {
  discovery,
  forbiddenMessage,
  GROUP,
  remoteUser,
  route,
  status,
  VERSION,
  requestOptions,
  versionInfo,
  type RemoteUser,
  type RequestOptions,
  type Route,
} from './subresources.ts';
import type { Serial } from './qemu.ts';
import { bridgeForward } from './portforward.ts';

/** What the API server publishes for aggregated API servers to authenticate its proxy. */
export interface FrontProxyAuth {
  clientCaPem: string;
  /** Common names the proxy's certificate may have; empty means any the CA signed. */
  allowedNames: string[];
  headers: { user: string; group: string; extraPrefix: string };
}

/** Reads kube-system/extension-apiserver-authentication, as every aggregated API server does. */
export async function frontProxyAuth(rest: KubeRest): Promise<FrontProxyAuth> {
  const cm = await rest.request<{ data?: Record<string, string> }>(
    'GET',
    '/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication',
  );
  const d = cm.body.data ?? {};
  const ca = d['requestheader-client-ca-file'];
  if (!ca)
    throw new Error(
      'the API server has no front-proxy configuration (--requestheader-client-ca-file): it cannot serve aggregated APIs such as subresources.kubevirt.io',
    );
  const first = (k: string, fallback: string): string =>
    ((JSON.parse(d[k] ?? '[]') as string[])[0] ?? fallback).toLowerCase();
  return {
    clientCaPem: ca,
    allowedNames: JSON.parse(d['requestheader-allowed-names'] ?? '[]') as string[],
    headers: {
      user: first('requestheader-username-headers', 'X-Remote-User'),
      group: first('requestheader-group-headers', 'X-Remote-Group'),
      extraPrefix: first('requestheader-extra-headers-prefix', 'X-Remote-Extra-'),
    },
  };
}

export interface SubresourceServer {
  port: number;
  close(): Promise<void>;
}

export interface SubresourceServerOptions {
  rest: KubeRest;
  engine: LocalEngine;
  serving: KeyPair;
  auth: FrontProxyAuth;
  log: (msg: string) => void;
  /** The KubeVirt release whose API the engine plays (its version answer). */
  kubevirtVersion: string;
}

/** A PUT's options, from its body (virtctl's StartOptions, StopOptions, RestartOptions, ...). */
async function optionsFrom(req: IncomingMessage): Promise<RequestOptions> {
  let body = '';
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > 65_536) throw new EngineError(400, 'the request body is too large');
  }
  const parsed = requestOptions(body);
  if (!parsed.ok) throw new EngineError(400, parsed.message);
  return parsed.options;
}

/** The proxy's certificate, checked against the published CA and names. */
function fromProxy(o: SubresourceServerOptions, req: IncomingMessage): boolean {
  const socket = req.socket as TLSSocket;
  if (!socket.authorized) return false;
  const cn = socket.getPeerCertificate()?.subject?.CN;
  return !o.auth.allowedNames.length || (!!cn && o.auth.allowedNames.includes(String(cn)));
}

/** Whether the user may, as the API server's RBAC says. */
async function authorize(
  o: SubresourceServerOptions,
  u: RemoteUser,
  r: Route,
): Promise<{ allowed: boolean; reason?: string }> {
  const res = await o.rest.request<{ status?: { allowed?: boolean; reason?: string } }>(
    'POST',
    '/apis/authorization.k8s.io/v1/subjectaccessreviews',
    {
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: { user: u.user, groups: u.groups, extra: u.extra, resourceAttributes: r.access },
      },
    },
  );
  return {
    allowed: !!res.body.status?.allowed,
    ...(res.body.status?.reason ? { reason: res.body.status.reason } : {}),
  };
}

type Admission = { route: Route } | { code: number; message: string } | { discovery: object };

/** Authenticates and authorizes; the route when the request may go on, else the refusal. */
async function admit(o: SubresourceServerOptions, req: IncomingMessage): Promise<Admission> {
  if (!fromProxy(o, req))
    return {
      code: 401,
      message: `only the API server's front proxy may call ${GROUP}: a client certificate signed by the request-header CA is required`,
    };
  const path = new URL(req.url ?? '/', 'https://x').pathname;
  const doc =
    req.method === 'GET'
      ? path.replace(/\/$/, '') === `/apis/${GROUP}/${VERSION}/version`
        ? versionInfo(o.kubevirtVersion)
        : discovery(path)
      : undefined;
  if (doc) return { discovery: doc };
  const found = route(req.method ?? 'GET', path);
  if (!found.ok) return found;
  // Distinct headers: a user in several groups comes with one X-Remote-Group header per group.
  const user = remoteUser(req.headersDistinct, o.auth.headers);
  if (!user) return { code: 401, message: 'the front proxy named no user (X-Remote-User)' };
  const verdict = await authorize(o, user, found.route);
  if (!verdict.allowed)
    return { code: 403, message: forbiddenMessage(user, found.route, verdict.reason) };
  return { route: found.route };
}

function refuse(res: ServerResponse, code: number, message: string): void {
  res
    .writeHead(code, { 'Content-Type': 'application/json' })
    .end(JSON.stringify(status(code, message)));
}

/** An error answer on a connection that asked for a websocket (no upgrade happens). */
function refuseUpgrade(socket: Duplex, code: number, message: string): void {
  const body = JSON.stringify(status(code, message));
  socket.end(
    `HTTP/1.1 ${code} ${code === 403 ? 'Forbidden' : 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

const codeOf = (e: unknown): number =>
  e instanceof EngineError ? e.code : e instanceof ApiError ? e.code : 500;

/** The plain requests: discovery, the screenshot, and the power operations. */
async function handle(
  o: SubresourceServerOptions,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const a = await admit(o, req);
  if ('discovery' in a) {
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(a.discovery));
    return;
  }
  if ('code' in a) return refuse(res, a.code, a.message);
  const { namespace: ns, name, operation } = a.route;
  if (a.route.stream)
    return refuse(res, 400, `${operation} is a websocket: connect with protocol plain.kubevirt.io`);
  if (operation === 'vnc/screenshot') {
    const png = await o.engine.screenshot(ns, name);
    res.writeHead(200, { 'Content-Type': 'image/png' }).end(png);
    return;
  }
  if (operation === 'guestosinfo' || operation === 'userlist' || operation === 'filesystemlist') {
    // virt-api answers with what virt-handler has from virt-launcher's poller (its cache).
    const body = await o.engine.guestAgent(ns, name, operation);
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    return;
  }
  const options = await optionsFrom(req);
  const act: Record<string, () => Promise<void>> = {
    pause: () => o.engine.pause(ns, name, options),
    unpause: () => o.engine.unpause(ns, name, options),
    start: () => o.engine.start(ns, name, options),
    stop: () => o.engine.stop(ns, name, options),
    restart: () => o.engine.restart(ns, name, options),
    migrate: () => o.engine.migrate(ns, name, options),
  };
  await act[operation]?.();
  o.log(`${operation}${options.dryRun ? ' (dry run)' : ''} ${ns}/${name}`);
  // virt-api: 202 Accepted for the VM's lifecycle requests, 200 for pause and unpause.
  res.writeHead(operation === 'pause' || operation === 'unpause' ? 200 : 202).end();
}

/** One console per guest, as KubeVirt: a new connection takes over from the old one. */
function bridgeConsole(
  serial: Serial,
  consoles: Map<string, WebSocket>,
  ws: WebSocket,
  at: { namespace: string; name: string },
): void {
  const key = `${at.namespace}/${at.name}`;
  consoles.get(key)?.close(1000, 'another console connection took over');
  consoles.set(key, ws);
  // What the guest printed lately comes first, so a newcomer sees the boot and the prompt.
  ws.send(Buffer.from(serial.output.slice(-16_384), 'latin1'));
  const stop = serial.listen((b) => ws.send(b));
  ws.on('message', (d: Buffer) => serial.type(d));
  ws.on('close', () => {
    stop();
    if (consoles.get(key) === ws) consoles.delete(key);
  });
}

/** The websocket's bytes to and from QEMU's VNC server (RFB, as a VNC viewer speaks it). */
function bridgeVnc(path: string, ws: WebSocket): void {
  const socket = connect(path);
  socket.on('data', (b: Buffer) => ws.send(b));
  socket.on('close', () => ws.close());
  socket.on('error', () => ws.close(1011, 'the VNC server went away'));
  ws.on('message', (d: Buffer) => socket.write(d));
  ws.on('close', () => socket.destroy());
}

export async function startSubresourceServer(
  o: SubresourceServerOptions,
): Promise<SubresourceServer> {
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (p) => (p.has('plain.kubevirt.io') ? 'plain.kubevirt.io' : false),
  });
  const consoles = new Map<string, WebSocket>();
  const upgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    const a = await admit(o, req);
    if ('discovery' in a) return refuseUpgrade(socket, 400, 'discovery is not a websocket');
    if ('code' in a) return refuseUpgrade(socket, a.code, a.message);
    const r = a.route;
    if (!r.stream) return refuseUpgrade(socket, 400, `${r.operation} is not a websocket`);
    if (r.forward) {
      const conn = await o.engine.portForward(r.namespace, r.name, {
        resource: r.resource,
        ...r.forward,
      });
      return void wss.handleUpgrade(req, socket, head, (ws) => bridgeForward(conn, ws));
    }
    // Fails with virt-api's answer (404, 400 while not running, 409) before the upgrade.
    const vnc = r.operation === 'vnc' ? await o.engine.vnc(r.namespace, r.name) : undefined;
    const serial = vnc ? undefined : await o.engine.serial(r.namespace, r.name);
    wss.handleUpgrade(req, socket, head, (ws) =>
      vnc ? bridgeVnc(vnc, ws) : bridgeConsole(serial as Serial, consoles, ws, r),
    );
  };
  const server: Server = createServer(
    {
      cert: o.serving.certPem,
      key: o.serving.keyPem,
      ca: o.auth.clientCaPem,
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      handle(o, req, res).catch((e: unknown) => {
        if (res.headersSent) res.destroy();
        else if (e instanceof EngineError && e.plain)
          res.writeHead(e.code, { 'Content-Type': 'text/plain' }).end(e.message);
        else refuse(res, codeOf(e), (e as Error).message);
      });
    },
  );
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgrade(req, socket, head).catch((e: unknown) =>
      refuseUpgrade(socket, codeOf(e), (e as Error).message),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    async close() {
      for (const ws of wss.clients) ws.terminate();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The objects that make the API server proxy subresources.kubevirt.io here; labelled as ours. */
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'vmplane-local-engine' };
export const ENGINE_NAMESPACE = 'kubevirt';
export const ENGINE_SERVICE = 'vmplane-local-engine';
const APISERVICE = `${VERSION}.${GROUP}`;

const ours = (o: { metadata?: { labels?: Record<string, string> } } | undefined): boolean =>
  o?.metadata?.labels?.['app.kubernetes.io/managed-by'] ===
  MANAGED_BY['app.kubernetes.io/managed-by'];

type Labelled = { metadata?: { labels?: Record<string, string>; resourceVersion?: string } };

/** Creates the object, or replaces it if it is the engine's own; someone else's is refused. */
async function putOurs(rest: KubeRest, path: string, obj: Labelled, what: string): Promise<void> {
  const current = await getLive<Labelled>(rest, path);
  if (current && !ours(current))
    throw new Error(
      `${what} already exists and is not the local engine's (KubeVirt's virt-api makes it): the local engine does not replace it`,
    );
  if (!current) {
    await rest.create(obj as never);
    return;
  }
  const metadata = { ...obj.metadata, resourceVersion: current.metadata?.resourceVersion };
  await rest.request('PUT', path, { body: { ...obj, metadata } });
}

/**
 * Registers the API: an ExternalName Service of localhost with the server's port, and the
 * APIService pointing at it with the serving CA. Objects someone else made (KubeVirt's virt-api
 * registration) are never replaced: registration fails and says whose they are, before the
 * engine writes anything.
 */
export async function registerSubresourceApi(
  rest: KubeRest,
  port: number,
  caPem: string,
): Promise<void> {
  const apiPath = `/apis/apiregistration.k8s.io/v1/apiservices/${APISERVICE}`;
  const existing = await getLive<Labelled>(rest, apiPath);
  if (existing && !ours(existing))
    throw new Error(
      `APIService ${APISERVICE} already exists and is not the local engine's (KubeVirt's virt-api registers it): the local engine does not replace it`,
    );
  await rest
    .create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ENGINE_NAMESPACE } } as never)
    .catch((e) => {
      if ((e as { code?: number }).code !== 409) throw e;
    });
  await putOurs(
    rest,
    `/api/v1/namespaces/${ENGINE_NAMESPACE}/services/${ENGINE_SERVICE}`,
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: ENGINE_SERVICE, namespace: ENGINE_NAMESPACE, labels: MANAGED_BY },
      spec: {
        type: 'ExternalName',
        externalName: 'localhost',
        ports: [{ name: 'https', port, protocol: 'TCP' }],
      },
    } as Labelled,
    `Service ${ENGINE_NAMESPACE}/${ENGINE_SERVICE}`,
  );
  await putOurs(
    rest,
    apiPath,
    {
      apiVersion: 'apiregistration.k8s.io/v1',
      kind: 'APIService',
      metadata: { name: APISERVICE, labels: MANAGED_BY },
      spec: {
        group: GROUP,
        version: VERSION,
        groupPriorityMinimum: 1000,
        versionPriority: 15,
        service: { namespace: ENGINE_NAMESPACE, name: ENGINE_SERVICE, port },
        caBundle: Buffer.from(caPem).toString('base64'),
      },
    } as Labelled,
    `APIService ${APISERVICE}`,
  );
}

/** Waits until the API server says the APIService is Available (it reached the server). */
export async function waitForAvailable(rest: KubeRest, timeoutMs = 30_000): Promise<void> {
  const path = `/apis/apiregistration.k8s.io/v1/apiservices/${APISERVICE}`;
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const a = await getLive<{
      status?: { conditions?: { type: string; status: string; message?: string }[] };
    }>(rest, path);
    const cond = a?.status?.conditions?.find((x) => x.type === 'Available');
    if (cond?.status === 'True') return;
    last = cond?.message ?? '';
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `APIService ${APISERVICE} did not become Available in ${timeoutMs / 1000} s: ${last}`,
  );
}

/** Removes the registration, if it is still ours. */
export async function unregisterSubresourceApi(rest: KubeRest): Promise<void> {
  for (const path of [
    `/apis/apiregistration.k8s.io/v1/apiservices/${APISERVICE}`,
    `/api/v1/namespaces/${ENGINE_NAMESPACE}/services/${ENGINE_SERVICE}`,
  ]) {
    const o = await getLive<{
      metadata?: { uid?: string; labels?: Record<string, string> };
    }>(rest, path);
    if (!ours(o)) continue;
    await rest
      .request('DELETE', path, { body: { preconditions: { uid: o?.metadata?.uid } } })
      .catch((e) => {
        if (!isNotFound(e)) throw e;
      });
  }
}
