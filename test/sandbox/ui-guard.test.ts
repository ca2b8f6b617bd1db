// The sandbox's UI server admits only its own page, against the real API server: a foreign Host,
// a foreign Origin's websocket and a request without the token are refused, while the printed
// address (token, then cookie) works. And the security review's findings, reproduced exactly
// over real sockets: a raw path naming another host (an HTTPS listener on loopback stands in for
// it and must never be dialled), a page on another loopback port using the cookie (in Chromium
// when it is there, and by its headers), a malformed percent-escape the server must survive.
// Then a few hundred generated requests over raw sockets, with the same properties as the unit
// property test (harness/src/ui/decide.property.test.ts).
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import WebSocket from 'ws';
import { KubeConfig } from '@kubernetes/client-node';
import { createCertificateAuthority, issueCertificate } from '../../kube/src/pki.ts';
import { CHROMIUM_ARGS, DEFAULT_CHROMIUM } from '../../harness/src/ui/browser.ts';
import type { Decision, RequestFacts } from '../../harness/src/ui/decide.ts';
import { isForeign, requestFacts } from '../../harness/src/ui/requests.arbitrary.ts';
import { startUiServer, type UiServer } from '../../harness/src/ui/server.ts';

const dir = mkdtempSync(join(tmpdir(), 'vmplane-ui-guard-'));
let ui: UiServer;
let port: number;
let apiOrigin: string;
const decisions: { facts: RequestFacts; decision: Decision }[] = [];

// The host an attacker would like the proxy to dial with the admin certificate: a real HTTPS
// server on loopback, counting every connection it receives (TCP, before any TLS).
const ca = createCertificateAuthority('ui-guard-attacker', 1);
const cert = issueCertificate(ca, {
  commonName: 'attacker',
  ipAddresses: ['127.0.0.1'],
  usages: ['server'],
  validityDays: 1,
});
let attacker: https.Server;
let attackerPort: number;
let attackerConnections = 0;

beforeAll(async () => {
  attacker = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (_req, res) =>
    res.end('attacker'),
  );
  attacker.on('connection', () => attackerConnections++);
  await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', r));
  attackerPort = (attacker.address() as net.AddressInfo).port;

  const kc = new KubeConfig();
  kc.loadFromFile(inject('kubeconfig'));
  apiOrigin = new URL(kc.getCurrentCluster()?.server ?? '').origin;
  // The guard is what this file tests, not the page: a page folder of its own, no build needed.
  writeFileSync(join(dir, 'index.html'), '<html><body>harness</body></html>');
  // A stand-in for the harness page's own use of the API: a fetch and a watch's websocket.
  writeFileSync(
    join(dir, 'own.html'),
    `<html><body><script>
(async () => {
  const r = await fetch('/clusters/sandbox/api/v1/namespaces/default');
  const ns = await r.json();
  const ws = new WebSocket('ws://' + location.host + '/clusters/sandbox/api/v1/namespaces?watch=1');
  ws.onopen = () => { document.title = 'ok ' + r.status + ' ' + ns.metadata.name + ' ws open'; ws.close(); };
  ws.onerror = () => { document.title = 'ws error'; };
})().catch((e) => { document.title = 'error ' + e; });
</script></body></html>`,
  );
  ui = await startUiServer({
    kubeconfig: inject('kubeconfig'),
    clusterName: 'sandbox',
    harnessDir: dir,
    pluginDir: join(dir, 'plugin'),
    onDecision: (facts, decision) => decisions.push({ facts, decision }),
  });
  port = Number(new URL(ui.url).port);
});
afterAll(async () => {
  await ui?.close();
  attacker?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A request with the path exactly as given: Node's client does not normalize it. */
function get(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ code: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer to ${path}`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Any bytes as a request over a raw socket (a path Node's client would refuse, a missing Host):
 * the status code of the answer, or 0 when the server closed without one.
 */
function rawRequest(text: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer to ${JSON.stringify(text.slice(0, 120))}`));
    }, 5000);
    const done = (code: number): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(code);
    };
    s.on('data', (b: Buffer) => {
      got += b.toString('latin1');
      // The status line is enough (a watch or a websocket would stream on).
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      if (m && got.includes('\r\n')) done(Number(m[1]));
    });
    s.on('close', () => done(0));
    s.on('error', () => done(0));
    s.write(text);
  });
}

const cookie = (): Record<string, string> => ({ cookie: `${ui.cookieName}=${ui.token}` });
/** What the page's own fetch sends. */
const ownFetch = (): Record<string, string> => ({
  ...cookie(),
  'sec-fetch-site': 'same-origin',
  'sec-fetch-mode': 'cors',
  'sec-fetch-dest': 'empty',
});

function websocket(origin: string | undefined): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/clusters/sandbox/api/v1/namespaces?watch=1`, {
      headers: { ...cookie(), ...(origin ? { origin } : {}) },
    });
    ws.on('open', () => {
      ws.close();
      resolve('open');
    });
    ws.on('unexpected-response', (_req, res) => resolve(`refused ${res.statusCode}`));
    ws.on('error', (e) => resolve(`error ${e.message}`));
  });
}

describe("the sandbox's UI server", () => {
  it('answers its own page with the cookie, and the API through it', async () => {
    expect((await get('/c/sandbox/vmplane/vms', cookie())).code).toBe(200);
    const api = await get('/clusters/sandbox/api/v1/namespaces/default', ownFetch());
    expect(api.code).toBe(200);
    expect(JSON.parse(api.body)).toMatchObject({
      kind: 'Namespace',
      metadata: { name: 'default' },
    });
  });

  it('trades the token of the printed address for a cookie, and drops it from the address', async () => {
    const printed = new URL(ui.urlWithToken('/c/sandbox/vmplane/vms'));
    const r = await get(`${printed.pathname}${printed.search}`, {
      'sec-fetch-site': 'none',
      'sec-fetch-mode': 'navigate',
      'sec-fetch-dest': 'document',
    });
    expect(r.code).toBe(302);
    expect(r.headers.location).toBe('/c/sandbox/vmplane/vms');
    expect(r.headers['set-cookie']).toEqual([
      `vmplane-ui-token-${port}=${ui.token}; Path=/; HttpOnly; SameSite=Strict`,
    ]);
  });

  it('refuses a request without the token: 401', async () => {
    const r = await get('/clusters/sandbox/api/v1/namespaces');
    expect(r.code).toBe(401);
    expect(r.body).toBe(
      "open the UI address that npm start printed: it carries this start's token\n",
    );
  });

  it('refuses a foreign Host (DNS rebinding): 403', async () => {
    const r = await get('/clusters/sandbox/api/v1/namespaces', {
      ...cookie(),
      host: `attacker.example:${port}`,
    });
    expect(r.code).toBe(403);
    expect(r.body).toBe(
      `host "attacker.example:${port}" is not served here; open http://127.0.0.1:${port}/\n`,
    );
  });

  it("refuses a foreign Origin's websocket, and opens its own", async () => {
    expect(await websocket('https://attacker.example')).toBe('refused 403');
    expect(await websocket(undefined)).toBe('refused 403');
    expect(await websocket(`http://127.0.0.1:${port}`)).toBe('open');
  });
});

const chromiumHere = existsSync(process.env.VMPLANE_CHROMIUM ?? DEFAULT_CHROMIUM);

async function inChromium<T>(use: (b: Browser) => Promise<T>): Promise<T> {
  const browser = await chromium.launch({
    executablePath: process.env.VMPLANE_CHROMIUM ?? DEFAULT_CHROMIUM,
    args: CHROMIUM_ARGS,
  });
  try {
    return await use(browser);
  } finally {
    await browser.close();
  }
}

describe('the printed address in Chromium', () => {
  it.skipIf(!chromiumHere)(
    "opens the page, and the page's fetch and websocket pass the Sec-Fetch-* rules",
    () =>
      inChromium(async (browser) => {
        const tab = await browser.newPage();
        const before = decisions.length;
        await tab.goto(ui.urlWithToken('/own.html'));
        await tab.waitForFunction('document.title !== ""', undefined, { timeout: 15_000 });
        expect(await tab.title()).toBe('ok 200 default ws open');
        expect(new URL(tab.url()).search).toBe('');
        // What the browser said of each request: the address opened, then the page's own.
        const sites = decisions.slice(before).map((d) => [d.facts.secFetchSite, d.decision.action]);
        expect(sites[0]).toEqual(['none', 'set-cookie']);
        expect(sites).toContainEqual(['same-origin', 'proxy']);
      }),
  );
});

describe("the security review's findings, over real sockets", () => {
  it('1: a raw path naming another host is refused, and that host is never dialled', async () => {
    const path = `/clusters/sandbox//127.0.0.1:${attackerPort}/../../api`;
    const r = await get(path, cookie());
    expect(r.code).toBe(400);
    expect(r.body).toBe(`path "${path}" is not accepted: no empty segments (//)\n`);
    for (const p of [
      `/clusters/sandbox/%2f%2f127.0.0.1:${attackerPort}/api`,
      `/clusters/sandbox/%2e%2e/%2e%2e/api`,
      `/clusters/sandbox/@127.0.0.1:${attackerPort}/api`,
    ])
      expect((await get(p, cookie())).code, p).toBeGreaterThanOrEqual(400);
    // Backslashes, which Node's client would not send: over a raw socket.
    expect(
      await rawRequest(
        `GET /clusters/sandbox/\\\\127.0.0.1:${attackerPort}/../../api HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nCookie: ${ui.cookieName}=${ui.token}\r\nConnection: close\r\n\r\n`,
      ),
    ).toBe(400);
    expect(attackerConnections).toBe(0);
  });

  it('2: a page on another loopback port gets nothing, though the browser gives it the cookie', async () => {
    // By its headers: what a browser sends for that page's <img>, <script> and fetch.
    const api = '/clusters/sandbox/api/v1/namespaces';
    for (const h of <Record<string, string>[]>[
      { 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' },
      { 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'script' },
      { 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' },
      { 'sec-fetch-site': 'same-site' },
    ])
      expect((await get(api, { ...cookie(), ...h })).code, JSON.stringify(h)).toBe(403);
    // The cookie of another port's server is not this one's token.
    expect((await get(api, { cookie: `vmplane-ui-token=${ui.token}` })).code).toBe(401);
  });

  it.skipIf(!chromiumHere)(
    "2, in Chromium: the other port's <img>, <script>, <iframe>, fetch and websocket are all refused",
    async () => {
      const api = `http://127.0.0.1:${port}/clusters/sandbox/api/v1/namespaces`;
      const page = `<html><body>
<img src="${api}?from=img">
<script src="${api}?from=script"></script>
<iframe src="http://127.0.0.1:${port}/c/sandbox/vmplane/vms?from=iframe"></iframe>
<script>
fetch('${api}?from=no-cors', { mode: 'no-cors', credentials: 'include' }).catch(() => {});
fetch('${api}?from=cors', { credentials: 'include' }).catch(() => {});
new WebSocket('ws://127.0.0.1:${port}/clusters/sandbox/api/v1/namespaces?watch=1&from=ws');
</script></body></html>`;
      const other = http.createServer((_req, res) =>
        res.writeHead(200, { 'content-type': 'text/html' }).end(page),
      );
      await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
      const browser = await chromium.launch({
        executablePath: process.env.VMPLANE_CHROMIUM ?? DEFAULT_CHROMIUM,
        args: CHROMIUM_ARGS,
      });
      try {
        const context = await browser.newContext();
        // The cookie the printed address would have set in this browser.
        await context.addCookies([{ name: ui.cookieName, value: ui.token, url: ui.url }]);
        const before = decisions.length;
        const tab = await context.newPage();
        await tab.goto(`http://127.0.0.1:${(other.address() as net.AddressInfo).port}/`);
        const fromPage = (): typeof decisions =>
          decisions.slice(before).filter((d) => d.facts.url.includes('from='));
        const deadline = Date.now() + 10_000;
        while (fromPage().length < 6 && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 100));
        const seen = fromPage();
        expect(seen.map((d) => /from=([a-z-]+)/.exec(d.facts.url)?.[1]).sort()).toEqual([
          'cors',
          'iframe',
          'img',
          'no-cors',
          'script',
          'ws',
        ]);
        for (const { facts, decision } of seen) {
          // The browser did attach the cookie: only the guard stands in the way.
          expect(facts.cookie, facts.url).toContain(`${ui.cookieName}=${ui.token}`);
          // (A websocket's handshake may come without Sec-Fetch-*: its Origin refuses it.)
          if (!facts.url.includes('from=ws'))
            expect(facts.secFetchSite, facts.url).toBe('same-site');
          expect(decision, facts.url).toMatchObject({ action: 'refuse', code: 403 });
        }
      } finally {
        await browser.close();
        other.close();
      }
    },
  );

  it('3: a malformed percent-escape gets 400 naming the path, and the server goes on', async () => {
    const r = await get('/%E0%A4%A', cookie());
    expect(r.code).toBe(400);
    expect(r.body).toContain('path "/%E0%A4%A" is not accepted');
    expect((await get('/%E0%A4', cookie())).body).toBe(
      'path "/%E0%A4" is not accepted: a malformed percent-escape\n',
    );
    expect((await get('/c/sandbox/vmplane/vms', cookie())).code).toBe(200);
  });
});

describe('generated requests over raw sockets', () => {
  const RUNS = Number(process.env.UI_SOCKET_PROPERTY_RUNS ?? 300);

  /** The request's facts as bytes on the wire. */
  function wire(f: RequestFacts): string {
    const h: string[] = [`GET ${f.url} HTTP/1.1`];
    if (f.host !== undefined) h.push(`Host: ${f.host}`);
    if (f.origin !== undefined) h.push(`Origin: ${f.origin}`);
    if (f.cookie !== undefined) h.push(`Cookie: ${f.cookie}`);
    if (f.secFetchSite !== undefined) h.push(`Sec-Fetch-Site: ${f.secFetchSite}`);
    if (f.secFetchMode !== undefined) h.push(`Sec-Fetch-Mode: ${f.secFetchMode}`);
    if (f.secFetchDest !== undefined) h.push(`Sec-Fetch-Dest: ${f.secFetchDest}`);
    if (f.upgrade)
      h.push(
        'Connection: Upgrade',
        'Upgrade: websocket',
        'Sec-WebSocket-Version: 13',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      );
    else h.push('Connection: close');
    return `${h.join('\r\n')}\r\n\r\n`;
  }

  it(`never dials another host, never admits a foreign request, never dies (${RUNS} requests)`, async () => {
    const world = { port, attackerPort, clusterName: 'sandbox', token: ui.token };
    const started = Date.now();
    let foreign = 0;
    let forwarded = 0;
    await fc.assert(
      fc.asyncProperty(requestFacts(world), async (f) => {
        const before = decisions.length;
        const dialled = attackerConnections;
        // Only reads: the generator's paths reach the real API server with admin rights.
        const code = await rawRequest(wire({ ...f, method: 'GET' }));
        expect(code, 'an answer').toBeGreaterThan(0);
        if (isForeign(f, port)) {
          foreign++;
          expect(code, 'a foreign request is refused').toBeGreaterThanOrEqual(400);
          expect(code).toBeLessThan(500);
        }
        // Where the server went for it: the API server, and only there.
        for (const { decision } of decisions.slice(before))
          if (decision.action === 'proxy') {
            forwarded++;
            expect(decision.url.origin, 'the origin dialled').toBe(apiOrigin);
          }
        expect(attackerConnections - dialled, 'connections to the attacker').toBe(0);
      }),
      { numRuns: RUNS },
    );
    expect(attackerConnections).toBe(0);
    expect((await get('/c/sandbox/vmplane/vms', cookie())).code).toBe(200);
    console.log(
      `UI sockets property: ${RUNS} requests in ${Date.now() - started} ms, ${foreign} foreign, ${forwarded} forwarded to ${apiOrigin}, attacker dialled ${attackerConnections} times`,
    );
  });
});
