// The UI server over real sockets, without a control plane: its kubeconfig points at a loopback
// listener standing in for the API server, and another loopback listener stands in for a host an
// attacker would like the proxy to dial with the admin credentials. Neither speaks TLS: what
// matters is which one receives a connection.
import http from 'node:http';
import net from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUiServer, type UiServer } from './server.ts';

/** A loopback TCP listener that counts the connections it receives. */
async function listener(): Promise<{ port: number; connections: () => number; close(): void }> {
  let n = 0;
  const server = net.createServer((s) => {
    n++;
    s.destroy();
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    connections: () => n,
    close: () => void server.close(),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'vmplane-ui-sockets-'));
let api: Awaited<ReturnType<typeof listener>>;
let attacker: Awaited<ReturnType<typeof listener>>;
let ui: UiServer;
let port: number;

beforeAll(async () => {
  api = await listener();
  attacker = await listener();
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'c',
          cluster: { server: `https://127.0.0.1:${api.port}`, 'insecure-skip-tls-verify': true },
        },
      ],
      users: [{ name: 'u', user: { token: 'admin' } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'c',
    }),
  );
  // The harness page's folder, and a sibling whose name starts like it.
  mkdirSync(join(dir, 'dist'));
  writeFileSync(join(dir, 'dist', 'index.html'), '<html>harness</html>');
  mkdirSync(join(dir, 'dist-x'));
  writeFileSync(join(dir, 'dist-x', 'secret.txt'), 'secret');
  ui = await startUiServer({
    kubeconfig,
    clusterName: 'sandbox',
    harnessDir: join(dir, 'dist'),
    pluginDir: join(dir, 'plugin'),
  });
  port = Number(new URL(ui.url).port);
});
afterAll(async () => {
  await ui?.close();
  api?.close();
  attacker?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A request with the path exactly as given (Node does not normalize it), answered or timed out. */
function raw(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers, timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer to ${path}`)));
    req.on('error', reject);
    req.end();
  });
}

const withToken = (): Record<string, string> => ({ cookie: `${ui.cookieName}=${ui.token}` });

describe('the UI server over sockets', () => {
  it('never dials another host than the API server, whatever the raw path (finding 1)', async () => {
    const r = await raw(`/clusters/sandbox//127.0.0.1:${attacker.port}/../../api`, withToken());
    expect(attacker.connections()).toBe(0);
    expect(r.code).toBe(400);
  });
});

describe('malformed input (finding 3)', () => {
  it('answers a malformed percent-escape with 400 naming the path, and keeps serving', async () => {
    const r = await raw('/%E0%A4%A', withToken());
    expect(r.code).toBe(400);
    expect(r.body).toContain('/%E0%A4%A');
    expect((await raw('/', withToken())).code).toBe(200);
  });
});

describe('requests from another loopback port (finding 2)', () => {
  // Cookies are not separated by port, and SameSite ignores ports: a page on another loopback
  // port is same-site, so the browser attaches this server's cookie to its <img> and <script>
  // requests here, with no Origin.
  const api = '/clusters/sandbox/api/v1/namespaces';
  const cookies = (): string[] => [
    `vmplane-ui-token=${ui.token}`,
    `vmplane-ui-token-${port}=${ui.token}`,
  ];

  it('refuses same-site and cross-site requests, whichever cookie they carry', async () => {
    for (const cookie of cookies())
      for (const site of ['same-site', 'cross-site'])
        expect((await raw(api, { cookie, 'sec-fetch-site': site })).code, `${cookie} ${site}`).toBe(
          403,
        );
  });

  it('refuses an <img> or <script> request to the API, even same-origin', async () => {
    for (const cookie of cookies())
      for (const dest of ['image', 'script'])
        expect(
          (
            await raw(api, {
              cookie,
              'sec-fetch-site': 'same-origin',
              'sec-fetch-mode': 'no-cors',
              'sec-fetch-dest': dest,
            })
          ).code,
          `${cookie} ${dest}`,
        ).toBe(403);
  });

  it("names the token's cookie after the port: the name without it is not the token", async () => {
    expect((await raw('/', { cookie: `vmplane-ui-token=${ui.token}` })).code).toBe(401);
    expect((await raw('/', { cookie: `vmplane-ui-token-${port}=${ui.token}` })).code).toBe(200);
  });
});

describe('files (finding 4)', () => {
  it('serves nothing from a sibling folder whose name starts like the page folder', async () => {
    // Both cookie names, so that the token passes before and after the port-bound name.
    const r = await raw('/../dist-x/secret.txt', {
      cookie: `vmplane-ui-token=${ui.token}; vmplane-ui-token-${port}=${ui.token}`,
    });
    expect(r.body).not.toBe('secret');
  });
});

describe('sockets that go away', () => {
  it('survives browsers resetting their websocket before the API server answers', async () => {
    for (let i = 0; i < 20; i++) {
      const s = net.connect(port, '127.0.0.1');
      await new Promise<void>((r) => s.once('connect', () => r()));
      s.write(
        [
          'GET /clusters/sandbox/api/v1/namespaces?watch=1 HTTP/1.1',
          `Host: 127.0.0.1:${port}`,
          `Origin: http://127.0.0.1:${port}`,
          `Cookie: ${ui.cookieName}=${ui.token}`,
          'Connection: Upgrade',
          'Upgrade: websocket',
          'Sec-WebSocket-Version: 13',
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
          '',
          '',
        ].join('\r\n'),
      );
      s.resetAndDestroy();
    }
    await new Promise((r) => setTimeout(r, 200));
    expect((await raw('/', withToken())).code).toBe(200);
  });
});
