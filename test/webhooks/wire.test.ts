// The webhook server over real HTTPS: every endpoint, well-formed reviews, and bad input of every
// kind, each answered 400 with a one-line reason or with a denial, never a crash or a 500.
import { request } from 'node:https';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority, issueCertificate } from '../../kube/src/pki.ts';
import { staticLookups } from '../../kube/src/lookups.ts';
import { MAX_BODY_BYTES, SERVER_LIMITS, WebhookServer } from '../../webhooks/src/server.ts';
import { connect as tlsConnect } from 'node:tls';
import { admissionReview, vm as buildVm } from '../support/builders.ts';
import { celEngine } from '../support/cel.ts';
import { PolicyCompiler } from '../../policy/src/index.ts';

const policies = new PolicyCompiler(await celEngine());

const ca = createCertificateAuthority('wire-test-ca', 1);
const tls = issueCertificate(ca, {
  commonName: 'localhost',
  ipAddresses: ['127.0.0.1'],
  usages: ['server'],
  validityDays: 1,
});
const logLines: Record<string, unknown>[] = [];
const logger = pino(
  { level: 'info' },
  new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean))
        logLines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  }),
);

let ready = false;
const lookups = staticLookups({
  namespaces: [
    { metadata: { name: 'team-a', labels: { 'kubernetes.io/metadata.name': 'team-a' } } },
  ],
  classes: [
    {
      apiVersion: 'vmplane.io/v1alpha1',
      kind: 'VirtualMachineClass',
      metadata: { name: 'small' },
      spec: { hardware: { cpus: 1, memory: '1Gi' } },
    },
  ],
  clusterImages: [
    {
      apiVersion: 'vmplane.io/v1alpha1',
      kind: 'ClusterVirtualMachineImage',
      metadata: { name: 'ubuntu' },
      spec: { source: { http: { url: 'https://x/u.img' } }, size: '5Gi' },
    },
  ],
  storageClasses: [
    {
      metadata: {
        name: 'local',
        annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
      },
      provisioner: 'rancher.io/local-path',
    },
  ],
});
const server = new WebhookServer({
  lookups,
  lookupsReady: () => ready,
  tls,
  logger,
  policies,
});
let port = 0;

beforeAll(async () => {
  port = await server.start();
});
afterAll(async () => {
  await server.stop();
});

interface Reply {
  status: number;
  text: string;
  json?: {
    response: {
      uid: string;
      allowed: boolean;
      patch?: string;
      patchType?: string;
      status?: { code: number; message: string };
      warnings?: string[];
    };
  };
}

function send(
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        ca: ca.certPem,
        headers: { 'content-type': 'application/json', ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let json: Reply['json'];
          try {
            json = JSON.parse(text) as Reply['json'];
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, text, json });
        });
      },
    );
    req.on('error', reject);
    // As the API server does: a declared length (a chunked body counts as the largest allowed).
    if (
      body !== undefined &&
      !Object.keys(headers).some((h) => h.toLowerCase() === 'transfer-encoding')
    )
      req.setHeader('content-length', Buffer.byteLength(body));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const vm = (spec: Record<string, unknown>): Record<string, unknown> =>
  buildVm('web', { image: { name: 'ubuntu' }, ...spec }) as unknown as Record<string, unknown>;

const reviewOf = (request: Record<string, unknown>): string =>
  JSON.stringify(
    admissionReview({ namespace: 'team-a', object: vm({ className: 'small' }), ...request }),
  );

describe('health, readiness and metrics', () => {
  it('is healthy at once, and ready only once its caches are', async () => {
    expect((await send('GET', '/healthz')).status).toBe(200);
    ready = false;
    const notReady = await send('GET', '/readyz');
    expect(notReady.status).toBe(503);
    expect(notReady.text).toContain('caches not loaded');
    ready = true;
    expect((await send('GET', '/readyz')).status).toBe(200);
  });

  it('exports request counts and latency in Prometheus format', async () => {
    await send('POST', '/validate', reviewOf({ uid: 'metrics-1' }));
    const m = await send('GET', '/metrics');
    expect(m.status).toBe(200);
    expect(m.text).toMatch(
      /vmplane_admission_requests_total\{webhook="validate",kind="VirtualMachine",operation="CREATE",outcome="allowed"\} \d+/,
    );
    expect(m.text).toContain(
      'vmplane_admission_duration_seconds_bucket{le="0.005",webhook="validate",kind="VirtualMachine"}',
    );
  });

  it('answers unknown paths with 404 and says what exists', async () => {
    const r = await send('GET', '/nope');
    expect(r.status).toBe(404);
    expect(r.text).toContain('POST /mutate or /validate');
  });
});

describe('admission', () => {
  it('mutates with a JSON Patch that creates parents only when missing and escapes keys', async () => {
    const r = await send(
      'POST',
      '/mutate',
      reviewOf({ uid: 'm-1', object: vm({ className: 'small' }) }),
    );
    expect(r.status).toBe(200);
    expect(r.json?.response.uid).toBe('m-1');
    expect(r.json?.response.patchType).toBe('JSONPatch');
    const ops = JSON.parse(Buffer.from(r.json?.response.patch ?? '', 'base64').toString()) as {
      op: string;
      path: string;
      value: unknown;
    }[];
    expect(ops).toContainEqual({
      op: 'add',
      path: '/metadata/labels',
      value: { 'vmplane.io/class': 'small', 'vmplane.io/image': 'ubuntu' },
    });
    expect(ops).toContainEqual({ op: 'add', path: '/spec/powerState', value: 'PoweredOn' });
    // With labels present, keys are added one by one, '/' escaped as ~1.
    const labelled = vm({ className: 'small' });
    (labelled.metadata as Record<string, unknown>).labels = { app: 'web' };
    const r2 = await send('POST', '/mutate', reviewOf({ uid: 'm-2', object: labelled }));
    const ops2 = JSON.parse(Buffer.from(r2.json?.response.patch ?? '', 'base64').toString()) as {
      op: string;
      path: string;
    }[];
    expect(ops2.map((o) => o.path)).toContain('/metadata/labels/vmplane.io~1class');
    expect(ops2.map((o) => o.path)).not.toContain('/metadata/labels');
  });

  it('sends no patch when nothing changes (its own output)', async () => {
    const first = await send('POST', '/mutate', reviewOf({ uid: 'i-1' }));
    const ops = JSON.parse(
      Buffer.from(first.json?.response.patch ?? '', 'base64').toString(),
    ) as Parameters<typeof import('fast-json-patch').applyPatch>[1];
    const { applyPatch } = (await import('fast-json-patch')).default;
    const mutated = applyPatch(vm({ className: 'small' }), ops, true, false).newDocument;
    const again = await send('POST', '/mutate', reviewOf({ uid: 'i-2', object: mutated }));
    expect(again.json?.response).toEqual({ uid: 'i-2', allowed: true });
  });

  it('denies with the field and what is available', async () => {
    const r = await send(
      'POST',
      '/validate',
      reviewOf({ uid: 'd-1', object: vm({ className: 'huge' }) }),
    );
    expect(r.status).toBe(200);
    expect(r.json?.response).toMatchObject({
      uid: 'd-1',
      allowed: false,
      status: {
        code: 422,
        message:
          'spec.className: class "huge" does not exist; available in namespace "team-a": small',
      },
    });
  });

  it('logs one structured line per decision with the request uid', async () => {
    await send(
      'POST',
      '/validate',
      reviewOf({ uid: 'log-uid-42', object: vm({ className: 'huge' }) }),
    );
    const line = logLines.find((l) => l.uid === 'log-uid-42');
    expect(line).toMatchObject({
      msg: 'admission decision',
      webhook: 'validate',
      kind: 'VirtualMachine',
      operation: 'CREATE',
      outcome: 'denied',
      namespace: 'team-a',
      name: 'web',
    });
    expect(logLines.filter((l) => l.uid === 'log-uid-42')).toHaveLength(1);
  });
});

const ok = reviewOf({});
const big = JSON.stringify(admissionReview({ uid: 'x', pad: 'a'.repeat(MAX_BODY_BYTES) }));
const deep = '['.repeat(200_000) + ']'.repeat(200_000);

// [what, path, body, headers, expected status, words in the reason (400) or the denial]
const bad: [string, string, string | Buffer, Record<string, string>, number, string][] = [
  ['malformed JSON', '/validate', '{"apiVersion": ', {}, 400, 'body: not valid JSON'],
  ['an empty body', '/validate', '', {}, 400, 'apiVersion: required'],
  ['a JSON array', '/mutate', '[1,2]', {}, 400, 'body: must be a JSON object'],
  ['a JSON string', '/mutate', '"review"', {}, 400, 'body: must be a JSON object'],
  [
    'the v1beta1 API version',
    '/validate',
    ok.replace('admission.k8s.io/v1', 'admission.k8s.io/v1beta1'),
    {},
    400,
    'apiVersion: must be "admission.k8s.io/v1"',
  ],
  [
    'the wrong kind',
    '/validate',
    ok.replace('"AdmissionReview"', '"ConversionReview"'),
    {},
    400,
    'kind: must be "AdmissionReview"',
  ],
  [
    'no request',
    '/validate',
    JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }),
    {},
    400,
    'request: required',
  ],
  ['no uid', '/validate', reviewOf({ uid: undefined }), {}, 400, 'request.uid: required'],
  [
    'an empty uid',
    '/validate',
    reviewOf({ uid: '' }),
    {},
    400,
    'request.uid: must NOT have fewer than 1 characters',
  ],
  ['a numeric uid', '/validate', reviewOf({ uid: 7 }), {}, 400, 'request.uid: must be string'],
  [
    'an unknown operation',
    '/validate',
    reviewOf({ operation: 'PATCH' }),
    {},
    400,
    'request.operation: must be one of CREATE, UPDATE, DELETE, CONNECT',
  ],
  [
    'a kind with no version',
    '/validate',
    reviewOf({ kind: { group: 'vmplane.io', kind: 'VirtualMachine' } }),
    {},
    400,
    'request.kind.version: required',
  ],
  [
    'an object that is a string',
    '/validate',
    reviewOf({ object: 'vm' }),
    {},
    400,
    'request.object: must be object,null',
  ],
  [
    'a CREATE without object',
    '/mutate',
    reviewOf({ object: null }),
    {},
    400,
    'request.object: required for CREATE',
  ],
  [
    'an UPDATE without oldObject',
    '/validate',
    reviewOf({ operation: 'UPDATE' }),
    {},
    400,
    'request.oldObject: required for UPDATE',
  ],
  ['a body over the size limit', '/validate', big, {}, 400, 'body: larger than'],
  [
    'an unsupported charset',
    '/validate',
    ok,
    { 'content-type': 'application/json; charset=latin2' },
    400,
    'unsupported charset "LATIN2"',
  ],
  ['JSON nested 200,000 deep', '/validate', deep, {}, 400, 'body:'],
  [
    'a VM whose spec breaks the schema',
    '/validate',
    reviewOf({ object: vm({ className: 'small', powerState: 'Sideways' }) }),
    {},
    200,
    'spec.powerState: must be one of PoweredOn, PoweredOff, Suspended',
  ],
  [
    'a VM with no spec at all',
    '/validate',
    reviewOf({
      object: {
        apiVersion: 'vmplane.io/v1alpha1',
        kind: 'VirtualMachine',
        metadata: { name: 'x' },
      },
    }),
    {},
    200,
    'spec: required',
  ],
];

describe('bad input', () => {
  it('covers at least 15 kinds', () => expect(bad.length).toBeGreaterThanOrEqual(15));

  it.each(bad)('%s', async (_what, path, body, headers, status, words) => {
    const r = await send('POST', path, body, headers);
    expect(r.status).toBe(status);
    if (status === 400) {
      expect(r.text.split('\n')).toHaveLength(1);
      expect(r.text).toContain(words);
    } else {
      expect(r.json?.response.allowed).toBe(false);
      expect(r.json?.response.status?.message).toContain(words);
    }
    // Still alive and serving after each.
    expect((await send('GET', '/healthz')).status).toBe(200);
  });

  it('leaves a schema-breaking object to the API server on mutate (no patch, no crash)', async () => {
    const r = await send(
      'POST',
      '/mutate',
      reviewOf({ object: vm({ className: 'small', powerState: 'Sideways' }) }),
    );
    expect(r.json?.response).toEqual({ uid: 'uid-1', allowed: true });
  });
});

describe('draining', () => {
  it('finishes a request in flight when stopped, then refuses new connections', async () => {
    const s = new WebhookServer({ lookups, lookupsReady: () => true, tls, logger, policies });
    const p = await s.start();
    const body = reviewOf({ uid: 'drain-1' });
    let stopped: Promise<void> | undefined;
    const reply = new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: p,
          path: '/validate',
          method: 'POST',
          ca: ca.certPem,
          headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 10)); // in flight: headers sent, body not complete
      setTimeout(() => {
        stopped = s.stop(5000);
        setTimeout(() => req.end(body.slice(10)), 200);
      }, 200);
    });
    expect(await reply).toBe(200);
    await stopped;
    await expect(
      new Promise((resolve, reject) => {
        const r = request(
          { host: '127.0.0.1', port: p, path: '/healthz', ca: ca.certPem, agent: false },
          resolve,
        );
        r.on('error', reject);
        r.end();
      }),
    ).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('slow clients', () => {
  it('closes a connection whose headers do not arrive in time, and answers others meanwhile', async () => {
    // One byte a second: the request line and headers never finish within headersTimeoutMs.
    const slow = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    await new Promise<void>((r) => slow.once('secureConnect', () => r()));
    const closed = new Promise<number>((r) => slow.once('close', () => r(Date.now())));
    const started = Date.now();
    const drip = setInterval(() => slow.write('X'), 1_000);
    // The server closing the connection is the point: writes after that fail, and that is fine.
    slow.on('error', () => undefined);
    slow.once('close', () => clearInterval(drip));
    slow.write('POST /validate HTTP/1.1\r\nHost: x\r\n');
    try {
      // Admissions still answer while the slow client hangs on.
      const r = await send('GET', '/healthz');
      expect(r.status).toBe(200);
      const at = await closed;
      expect(at - started).toBeGreaterThanOrEqual(SERVER_LIMITS.headersTimeoutMs - 1_000);
    } finally {
      clearInterval(drip);
      slow.destroy();
    }
  }, 30_000);

  it('caps the request bodies being received at once, and still answers small admissions', async () => {
    const BIG = 3_400_000; // under MAX_BODY_BYTES, declared, never sent
    const conns = await Promise.all(
      Array.from({ length: 25 }, async () => {
        const c = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
        c.on('error', () => undefined);
        await new Promise<void>((r) => c.once('secureConnect', () => r()));
        let answer = '';
        c.on('data', (b: Buffer) => (answer += b.toString()));
        return { c, answer: () => answer };
      }),
    );
    try {
      for (const { c } of conns) {
        c.write(
          `POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${BIG}\r\n\r\n{`,
        );
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, 1_000));
      const refused = conns.filter(({ answer }) => answer().startsWith('HTTP/1.1 503'));
      const held = conns.filter(({ answer }) => answer() === '');
      const fits = Math.floor(SERVER_LIMITS.maxBodyBytesInFlight / BIG);
      console.log(
        `25 uploads declaring ${BIG} bytes: ${held.length} being received, ${refused.length} refused with 503`,
      );
      expect(held).toHaveLength(fits);
      expect(refused).toHaveLength(25 - fits);
      const r = await send('POST', '/validate', reviewOf({ uid: 'small-one' }));
      expect(r.status).toBe(200);
    } finally {
      for (const { c } of conns) c.destroy();
    }
    // The room comes back once those connections are gone.
    await new Promise((r) => setTimeout(r, 200));
    const again = await send('POST', '/validate', reviewOf({ uid: 'after' }));
    expect(again.status).toBe(200);
  }, 30_000);

  it('200 clients dripping a byte a second neither block admissions nor stay connected', async () => {
    const SLOW = 200;
    const conns = await Promise.all(
      Array.from({ length: SLOW }, async (_, i) => {
        const c = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
        c.on('error', () => undefined);
        await new Promise<void>((r) => c.once('secureConnect', () => r()));
        const closed = new Promise<void>((r) => c.once('close', () => r()));
        // Half never finish their headers; half send headers, then a 500 kB body a byte at a time.
        c.write(
          i % 2
            ? 'POST /validate HTTP/1.1\r\nHost: x\r\n'
            : 'POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500000\r\n\r\n{',
        );
        return { c, closed };
      }),
    );
    const drip = setInterval(() => {
      for (const { c } of conns) if (!c.destroyed) c.write('X');
    }, 1_000);
    const started = Date.now();
    try {
      // Meanwhile, admissions come in; each must answer well within the webhook timeout (5 s).
      const latencies: number[] = [];
      for (let i = 0; i < 20; i++) {
        const t = Date.now();
        const r = await send('POST', '/validate', reviewOf({ uid: `slow-${i}` }));
        expect(r.status).toBe(200);
        expect(r.json?.response?.allowed).toBe(true);
        latencies.push(Date.now() - t);
        await new Promise((r) => setTimeout(r, 250));
      }
      // And the server closes every slow connection once its time is up.
      await Promise.all(conns.map((x) => x.closed));
      const closedAfter = Date.now() - started;
      console.log(
        `${SLOW} slow clients: admissions answered in at most ${Math.max(...latencies)} ms (median ${latencies.sort((a, b) => a - b)[10]} ms); every slow connection closed by the server after ${closedAfter} ms`,
      );
      expect(Math.max(...latencies)).toBeLessThan(5_000);
      expect(closedAfter).toBeLessThan(SERVER_LIMITS.requestTimeoutMs + 5_000);
    } finally {
      clearInterval(drip);
      for (const { c } of conns) c.destroy();
    }
  }, 60_000);
});
