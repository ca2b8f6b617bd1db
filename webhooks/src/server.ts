// The HTTPS admission server: express behind Node's https server. Bad requests get a 400 with a
// one-line reason; a handler that throws gets a 500 (the API server then applies the webhook's
// failurePolicy), never a crash. Serving
// certificates are swapped in place (setSecureContext) when they rotate. stop() drains.
import { createServer, type Server } from 'node:https';
import type { SecureContextOptions, TLSSocket, TlsOptions } from 'node:tls';
import type { AddressInfo, Socket } from 'node:net';
import { ConnectionGuard } from './connections.ts';
import {
  caNames,
  callerProblem,
  isAdmissionPath,
  type ClientAuth,
  type Peer,
} from './client-auth.ts';
import express, { type NextFunction, type Request, type Response } from 'express';
import pino, { type Logger } from 'pino';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import {
  denied,
  review,
  reviewProblem,
  type AdmissionRequest,
  type AdmissionReview,
} from './admission.ts';
import { handleMutation, handleValidation, type Handled } from './handlers.ts';
import { withDisks, type Lookups } from '../../kube/src/lookups.ts';
import type { DiskClaims } from './disk-claims.ts';
import type { NetworkAddresses } from './network-addresses.ts';
import type { PolicyCompiler } from '../../policy/src/index.ts';
import { serveMetrics, type MetricsAuthorizer } from '../../kube/src/metrics-auth.ts';

/** kube-apiserver sends at most about 3 MiB; leave room for the envelope. */
export const MAX_BODY_BYTES = 3.5 * 1024 * 1024;

export interface WebhookServerOptions {
  lookups: Lookups;
  /** Whether the lookups are ready (caches synced); /readyz reports it. */
  lookupsReady: () => boolean;
  tls: { certPem: string; keyPem: string };
  host?: string;
  port?: number;
  logger?: Logger;
  registry?: Registry;
  /**
   * Disk claims written at admission, so two VMs never both attach one disk (across replicas).
   * Without it, only the cache check applies (unit tests of the wire format).
   */
  claims?: DiskClaims;
  /** MAC and static-pool IP claims written at admission (NetworkAddresses). */
  addresses?: NetworkAddresses;
  /** The policies in force, compiled in the CEL engine. */
  policies: PolicyCompiler;
  /**
   * Who may read /metrics (TokenReview and SubjectAccessReview). main() always sets it; without
   * it /metrics is open, for unit tests of the wire format only.
   */
  metricsAuthorizer?: MetricsAuthorizer;
  /**
   * Test only (main() never sets it, no flag reaches it): makes the handlers throw for the
   * requests it picks, so tests can show what the API server does with a failing webhook.
   */
  faults?: FaultInjection;
  /**
   * Accept admission reviews only from callers with a client certificate this CA issued (the API
   * server's, from its admission configuration). Without it, every caller is accepted.
   */
  clientAuth?: ClientAuth;
}

/** Test-only fault injection: which admission requests the handlers throw on. */
export interface FaultInjection {
  throwOn?: (webhook: 'mutate' | 'validate', request: AdmissionRequest) => boolean;
}

/** Limits of the webhook's HTTPS server. */
export const SERVER_LIMITS = {
  /** A connection that has sent no byte after this is closed (kube-apiserver speaks at once). */
  firstByteMs: 2_000,
  /** The TLS handshake must finish within this (Node's default is 120 s). */
  handshakeTimeoutMs: 4_000,
  /** The request line and headers must arrive within this. */
  headersTimeoutMs: 5_000,
  /** The whole request (headers and body) must arrive within this. */
  requestTimeoutMs: 15_000,
  /**
   * From a request's headers to its answer, body and handling included: past this it gets a 503
   * and its connection is closed. kube-apiserver waits at most 30 s (the largest timeoutSeconds).
   */
  requestDeadlineMs: 30_000,
  /** An idle keep-alive connection closes after this (longer than the API server's own idle time). */
  keepAliveTimeoutMs: 65_000,
  /** Connections past their TLS handshake at once; more are closed until some close. */
  maxConnections: 1_024,
  /**
   * Connections still in their TLS handshake at once, counted apart: past this the oldest are
   * closed, so idle sockets can never keep the API server's new connection out (connections.ts).
   */
  maxPendingHandshakes: 256,
  /**
   * Request bodies (by Content-Length; a chunked body counts as the largest allowed) being read at
   * once. Past this, a request is answered 503 before its body is read, so slow uploads cannot
   * add up to gigabytes (1,024 connections of 3.5 MiB); an AdmissionReview is a few KB.
   */
  maxBodyBytesInFlight: 64 * 1024 * 1024,
};

export class WebhookServer {
  private readonly opts: WebhookServerOptions;
  private readonly log: Logger;
  readonly registry: Registry;
  private readonly requests: Counter<'webhook' | 'kind' | 'operation' | 'outcome'>;
  private readonly duration: Histogram<'webhook' | 'kind'>;
  private server?: Server;
  private draining = false;
  private inFlight = 0;
  /** Bytes of request bodies being received now (declared lengths). */
  private bodyBytes = 0;
  private readonly connections = new ConnectionGuard({
    maxSecured: SERVER_LIMITS.maxConnections,
    maxPending: SERVER_LIMITS.maxPendingHandshakes,
    firstByteMs: SERVER_LIMITS.firstByteMs,
  });
  private tlsLoaded = false;

  constructor(opts: WebhookServerOptions) {
    this.opts = opts;
    this.log = opts.logger ?? pino({ name: 'vmplane-webhooks' });
    this.registry = opts.registry ?? new Registry();
    collectDefaultMetrics({ register: this.registry, prefix: 'vmplane_webhook_' });
    this.requests = new Counter({
      name: 'vmplane_admission_requests_total',
      help: 'Admission requests by webhook, kind, operation and outcome (allowed, patched, warned, denied, ignored, bad_request, forbidden, error).',
      labelNames: ['webhook', 'kind', 'operation', 'outcome'],
      registers: [this.registry],
    });
    this.duration = new Histogram({
      name: 'vmplane_admission_duration_seconds',
      help: 'Time from receiving an admission request to answering it.',
      labelNames: ['webhook', 'kind'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [this.registry],
    });
  }

  get ready(): boolean {
    return this.tlsLoaded && !this.draining && this.opts.lookupsReady();
  }

  /**
   * Counts the bodies being received (by declared length) and answers 503 past the budget, before
   * a body is read.
   */
  private readonly bodyBudget = (req: Request, res: Response, next: NextFunction): void => {
    const declared = Number(req.headers['content-length']);
    const bytes = Number.isFinite(declared) && declared >= 0 ? declared : MAX_BODY_BYTES;
    if (req.method === 'POST' && this.bodyBytes + bytes > SERVER_LIMITS.maxBodyBytesInFlight) {
      res
        .status(503)
        .type('text/plain')
        .send('too many request bodies being received at once; try again');
      return;
    }
    if (req.method === 'POST') {
      this.bodyBytes += bytes;
      res.on('close', () => (this.bodyBytes -= bytes));
    }
    next();
  };

  app(): express.Express {
    const app = express();
    app.disable('x-powered-by');
    // No ETag: answers are never cached, and hashing every AdmissionReview answer costs CPU the API server needs.
    app.disable('etag');
    const guard = this.callerGuard();
    if (guard) app.use(guard);
    app.use(this.bodyBudget);
    app.use((_req, res, next) => {
      this.inFlight++;
      res.on('close', () => this.inFlight--);
      next();
    });
    app.use(requestDeadline);
    app.get('/healthz', (_req, res) => {
      res.type('text/plain').send('ok');
    });
    app.get('/readyz', (_req, res) => {
      const ok = this.ready;
      res
        .status(ok ? 200 : 503)
        .type('text/plain')
        .send(
          ok
            ? 'ok'
            : this.draining
              ? 'draining'
              : 'not ready: certificates or caches not loaded, or the certificate report not renewed',
        );
    });
    app.get('/metrics', async (req, res) => {
      const metrics = async () => ({
        contentType: this.registry.contentType,
        text: await this.registry.metrics(),
      });
      const authorizer = this.opts.metricsAuthorizer;
      if (authorizer) await serveMetrics(req, res, authorizer, metrics);
      else res.type(this.registry.contentType).send((await metrics()).text);
    });
    // Every body is parsed as JSON whatever its Content-Type claims; anything else is a 400.
    const json = express.json({ limit: MAX_BODY_BYTES, strict: false, type: () => true });
    app.post('/mutate', json, (req, res) => void this.admit('mutate', req, res));
    app.post('/validate', json, (req, res) => void this.admit('validate', req, res));
    app.use((_req: Request, res: Response) => {
      res
        .status(404)
        .type('text/plain')
        .send('not found: POST /mutate or /validate; GET /healthz, /readyz or /metrics');
    });
    // body-parser errors (bad JSON, too large, bad charset) end here.
    app.use(
      (
        err: Error & { type?: string; status?: number },
        req: Request,
        res: Response,
        _next: NextFunction,
      ) => {
        const reason = badBodyReason(err);
        this.requests.inc({
          webhook: req.path.slice(1),
          kind: '',
          operation: '',
          outcome: 'bad_request',
        });
        this.log.warn({ path: req.path, reason }, 'bad request');
        res.status(400).type('text/plain').send(reason);
      },
    );
    return app;
  }

  /**
   * With a client CA: refuses every admission path to callers that are not the API server, before
   * anything reads a body, so such a caller costs nothing more (client-auth.ts decides).
   */
  private callerGuard(): express.RequestHandler | undefined {
    const auth = this.opts.clientAuth;
    if (!auth) return undefined;
    const caName = caNames(auth.caPem);
    return (req, res, next) => {
      if (!isAdmissionPath(req.method, req.path)) return next();
      const problem = callerProblem(peerOf(req.socket as TLSSocket), {
        caName,
        allowedNames: auth.allowedNames,
      });
      if (!problem) return next();
      this.requests.inc({
        webhook: req.path.slice(1),
        kind: '',
        operation: '',
        outcome: 'forbidden',
      });
      this.log.warn(
        { path: req.path, remote: req.socket.remoteAddress, problem },
        'caller refused',
      );
      res.status(403).set('Connection', 'close').type('text/plain').send(problem);
    };
  }

  /** The decision, then (for an allowed VM) the claims on the disks it attaches. */
  private async decide(webhook: 'mutate' | 'validate', r: AdmissionRequest): Promise<Handled> {
    if (this.opts.faults?.throwOn?.(webhook, r))
      throw new Error(`injected fault (test): the ${webhook} handler throws`);
    if (webhook === 'mutate') return handleMutation(r, this.opts.lookups, this.opts.addresses);
    const claims = this.opts.claims;
    const lookups = claims
      ? withDisks(
          this.opts.lookups,
          await claims.missingDisks(r, (ns, n) => this.opts.lookups.disk(ns, n)),
        )
      : this.opts.lookups;
    const handled = await handleValidation(r, lookups, this.opts.policies, this.opts.addresses);
    if (!handled.response.allowed || !this.opts.claims) return handled;
    const denial = await this.opts.claims.claim(r);
    if (!denial) return handled;
    return {
      response: denied(r.uid, denial.code ?? 409, `${denial.field}: ${denial.message}`),
      outcome: 'denied',
      notes: [...handled.notes, 'disk claimed by another VM'],
    };
  }

  private async admit(webhook: 'mutate' | 'validate', req: Request, res: Response): Promise<void> {
    const started = process.hrtime.bigint();
    const problem = reviewProblem(req.body);
    if (problem) {
      this.requests.inc({ webhook, kind: '', operation: '', outcome: 'bad_request' });
      this.log.warn({ webhook, reason: problem }, 'bad admission review');
      res.status(400).type('text/plain').send(problem);
      return;
    }
    const r = (req.body as AdmissionReview).request;
    let handled: Handled;
    try {
      handled = await this.decide(webhook, r);
    } catch (e) {
      // Not a denial: an error answer (HTTP 500) makes the API server apply the webhook's own
      // failurePolicy, so a webhook registered to fail open (Ignore) does, and one that fails
      // closed (Fail) refuses with this message. The server keeps serving.
      const message = `vmplane's ${webhook} webhook failed: ${(e as Error).message}`;
      this.log.error({ uid: r.uid, webhook, err: e }, 'admission handler failed');
      this.duration.observe(
        { webhook, kind: r.kind.kind },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
      this.requests.inc({ webhook, kind: r.kind.kind, operation: r.operation, outcome: 'error' });
      if (!res.headersSent) res.status(500).json(internalError(message));
      return;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.duration.observe({ webhook, kind: r.kind.kind }, seconds);
    this.requests.inc({
      webhook,
      kind: r.kind.kind,
      operation: r.operation,
      outcome: handled.outcome,
    });
    const obj = (r.object ?? r.oldObject ?? {}) as {
      metadata?: { name?: string; namespace?: string };
    };
    this.log.info(
      {
        uid: r.uid,
        webhook,
        kind: r.kind.kind,
        operation: r.operation,
        namespace: r.namespace ?? obj.metadata?.namespace,
        name: r.name ?? obj.metadata?.name,
        user: r.userInfo?.username,
        dryRun: r.dryRun ?? false,
        outcome: handled.outcome,
        ...(handled.response.status ? { message: handled.response.status.message } : {}),
        ...(handled.response.warnings ? { warnings: handled.response.warnings } : {}),
        ...(handled.notes.length ? { notes: handled.notes } : {}),
        ms: Math.round(seconds * 100_000) / 100,
      },
      'admission decision',
    );
    // Past the request deadline, the 503 went out already.
    if (!res.headersSent) res.json(review(handled.response));
  }

  /** TLS settings of the server and of each certificate swap: the client CA lives in them. */
  private tlsOptions(certPem: string, keyPem: string): SecureContextOptions & TlsOptions {
    const auth = this.opts.clientAuth;
    return {
      cert: certPem,
      key: keyPem,
      minVersion: 'TLSv1.2',
      // Ask for a client certificate, but finish the handshake without one: the probes and the
      // metrics scrapes carry none; the admission paths check it (client-auth.ts).
      ...(auth ? { ca: auth.caPem, requestCert: true, rejectUnauthorized: false } : {}),
    };
  }

  async start(): Promise<number> {
    this.server = createServer(
      {
        ...this.tlsOptions(this.opts.tls.certPem, this.opts.tls.keyPem),
        // How often Node checks the header and request timeouts below (30 s by default).
        connectionsCheckingInterval: 1_000,
        handshakeTimeout: SERVER_LIMITS.handshakeTimeoutMs,
      },
      this.app(),
    );
    this.tlsLoaded = true;
    // Slow or stuck clients cannot hold the server: the API server sends a whole AdmissionReview
    // at once and gives up after its webhook timeout (at most 30 s).
    this.server.headersTimeout = SERVER_LIMITS.headersTimeoutMs;
    this.server.requestTimeout = SERVER_LIMITS.requestTimeoutMs;
    this.server.keepAliveTimeout = SERVER_LIMITS.keepAliveTimeoutMs;
    // Not server.maxConnections: it counts sockets still in (or never starting) their handshake.
    this.server.on('connection', (raw: Socket) => this.connections.opened(raw));
    this.server.on('secureConnection', (s: Socket) => this.connections.secure(s));
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  /** Serve a new certificate from now on, without dropping connections. */
  setCertificate(certPem: string, keyPem: string): void {
    this.server?.setSecureContext(this.tlsOptions(certPem, keyPem));
  }

  /** Stop accepting, finish what is in flight (up to `graceMs`), then close. */
  async stop(graceMs = 10_000): Promise<void> {
    this.draining = true;
    const server = this.server;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const deadline = Date.now() + graceMs;
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    server.closeAllConnections();
    this.connections.destroyAll();
    await closed;
  }

  get requestsInFlight(): number {
    return this.inFlight;
  }
}

/**
 * The deadline of the whole request, body and handling included: nothing holds a connection (or a
 * handler's resources) after the API server has given up on the answer.
 */
function requestDeadline(req: Request, res: Response, next: NextFunction): void {
  const timer = setTimeout(() => {
    if (res.headersSent) {
      req.socket.destroy();
      return;
    }
    res
      .status(503)
      .set('Connection', 'close')
      .type('text/plain')
      .send(`request not answered within ${SERVER_LIMITS.requestDeadlineMs / 1000} s`);
  }, SERVER_LIMITS.requestDeadlineMs);
  res.on('close', () => clearTimeout(timer));
  next();
}

/** What the TLS layer knows of the caller. */
function peerOf(socket: TLSSocket): Peer {
  const cert =
    typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined;
  const presented = !!cert && Object.keys(cert).length > 0;
  const cn = cert?.subject?.CN as string | string[] | undefined;
  return {
    presented,
    authorized: presented && socket.authorized === true,
    ...(socket.authorizationError ? { authorizationError: String(socket.authorizationError) } : {}),
    ...(cn ? { commonName: Array.isArray(cn) ? (cn[0] ?? '') : cn } : {}),
  };
}

/** A metav1.Status for a failed handler: the API server's webhook client reads its message. */
export function internalError(message: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Status',
    status: 'Failure',
    code: 500,
    reason: 'InternalError',
    message,
  };
}

function badBodyReason(err: Error & { type?: string }): string {
  switch (err.type) {
    case 'entity.too.large':
      return `body: larger than ${MAX_BODY_BYTES} bytes (the API server never sends more than about 3 MiB)`;
    case 'entity.parse.failed':
      return `body: not valid JSON (${err.message.split('\n')[0]})`;
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return `body: ${err.message}; send UTF-8 JSON`;
    case 'request.aborted':
      return 'body: the request was aborted before it was complete';
    default:
      return `body: ${err.message.split('\n')[0]}`;
  }
}
