import { createServer, type Server } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority, issueCertificate } from './pki.ts';
import { KubeRest, RequestTimeout } from './rest.ts';

const ca = createCertificateAuthority('rest-test', 1);
const cert = issueCertificate(ca, {
  commonName: 'server',
  ipAddresses: ['127.0.0.1'],
  usages: ['server'],
  validityDays: 1,
});
let server: Server;
let handshakes = 0;
let auth: string[] = [];
let busy = 0;

beforeAll(async () => {
  server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    auth.push(req.headers.authorization ?? '');
    if (req.url === '/busy' && busy-- > 0) {
      res
        .writeHead(429, { 'content-type': 'application/json', 'retry-after': '0' })
        .end('{"kind":"Status","message":"storage is (re)initializing"}');
      return;
    }
    if (req.url === '/busy-no-retry-after') {
      res.writeHead(429, { 'content-type': 'application/json' }).end('{"kind":"Status"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"kind":"Status"}');
  });
  server.on('secureConnection', () => handshakes++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
});
afterAll(() => new Promise((r) => server.close(r)));

/** A client of the test server, with a bearer token if given. */
function restFor(token?: string): KubeRest {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: 'c',
        server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
        caData: Buffer.from(ca.certPem).toString('base64'),
      },
    ],
    users: [{ name: 'u', ...(token ? { token } : {}) }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return new KubeRest(kc);
}

describe('KubeRest', () => {
  it('reuses its TLS connections (client-node would open one per request) and keeps the credentials', async () => {
    const rest = restFor('secret-token');
    handshakes = 0;
    auth = [];
    for (let i = 0; i < 5; i++) expect((await rest.request('GET', '/version')).status).toBe(200);
    rest.close();
    expect(handshakes).toBe(1);
    expect(auth).toEqual(Array(5).fill('Bearer secret-token'));
  });
});

describe('KubeRest and a busy API server', () => {
  it('comes back when a 429 says when (a CRD whose storage is initializing), as client-go does', async () => {
    const r = restFor();
    busy = 3;
    expect((await r.request('GET', '/busy')).status).toBe(200);
    expect(busy).toBe(-1);
    busy = 20;
    await expect(r.request('GET', '/busy')).rejects.toMatchObject({ code: 429 });
    expect(busy).toBe(10);
    r.close();
  });

  it('leaves a 429 that does not say when to the caller', async () => {
    const r = restFor();
    await expect(r.request('GET', '/busy-no-retry-after')).rejects.toMatchObject({ code: 429 });
    r.close();
  });
});

describe('KubeRest timeouts', () => {
  it('gives up on an API server that accepts the connection and then says nothing', async () => {
    // A blackhole on loopback: the TCP connection opens, no byte ever comes back.
    const held: Socket[] = [];
    const hole = createNetServer((s) => held.push(s));
    await new Promise<void>((r) => hole.listen(0, '127.0.0.1', () => r()));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        {
          name: 'c',
          server: `https://127.0.0.1:${(hole.address() as AddressInfo).port}`,
          skipTLSVerify: true,
        },
      ],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const rest = new KubeRest(kc, { timeoutMs: 300 });
    try {
      await expect(rest.request('GET', '/api/v1/namespaces')).rejects.toThrow(
        new RequestTimeout('GET', '/api/v1/namespaces', 300),
      );
    } finally {
      rest.close();
      for (const s of held) s.destroy();
      await new Promise((r) => hole.close(r));
    }
  });
});

describe('KubeRest deadline', () => {
  it('fails a request at its deadline even while the server trickles a byte every 100 ms', async () => {
    // An idle timeout never fires here: the connection is never silent for long. Only a deadline
    // on the whole request ends it. The server stops after 5 s so the test ends either way.
    const trickle = createServer({ cert: cert.certPem, key: cert.keyPem }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      let n = 0;
      const t = setInterval(() => {
        if (res.destroyed || ++n > 50) {
          clearInterval(t);
          res.end();
        } else res.write(' ');
      }, 100);
    });
    await new Promise<void>((r) => trickle.listen(0, '127.0.0.1', () => r()));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        {
          name: 'c',
          server: `https://127.0.0.1:${(trickle.address() as AddressInfo).port}`,
          caData: Buffer.from(ca.certPem).toString('base64'),
        },
      ],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const rest = new KubeRest(kc, { timeoutMs: 500 });
    const started = Date.now();
    try {
      await expect(rest.request('GET', '/api/v1/namespaces')).rejects.toThrow(
        new RequestTimeout('GET', '/api/v1/namespaces', 500),
      );
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(450);
      expect(took).toBeLessThan(1_500);
    } finally {
      rest.close();
      trickle.closeAllConnections();
      await new Promise((r) => trickle.close(r));
    }
  });
});
