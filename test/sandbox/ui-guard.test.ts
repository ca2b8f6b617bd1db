// The sandbox's UI server admits only its own page: against the real API server, a foreign Host,
// a foreign Origin's websocket, a path that could change the upstream host and a request without
// the token are refused, while the printed address (token, then cookie) works.
import http from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import WebSocket from 'ws';
import { REPO_ROOT } from '../../api/src/paths.ts';
import { startUiServer, type UiServer } from '../../harness/src/ui/server.ts';

let ui: UiServer;
let port: number;

beforeAll(async () => {
  ui = await startUiServer({
    kubeconfig: inject('kubeconfig'),
    clusterName: 'sandbox',
    harnessDir: join(REPO_ROOT, 'plugin', 'harness', 'dist'),
    pluginDir: join(REPO_ROOT, 'plugin', 'dist'),
  });
  port = Number(new URL(ui.url).port);
});
afterAll(() => ui?.close());

function get(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ code: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

const cookie = (): Record<string, string> => ({ cookie: `${ui.cookieName}=${ui.token}` });

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
    const api = await get('/clusters/sandbox/api/v1/namespaces/default', cookie());
    expect(api.code).toBe(200);
    expect(JSON.parse(api.body)).toMatchObject({
      kind: 'Namespace',
      metadata: { name: 'default' },
    });
  });

  it('trades the token of the printed address for a cookie, and drops it from the address', async () => {
    const printed = new URL(ui.urlWithToken('/c/sandbox/vmplane/vms'));
    const r = await get(`${printed.pathname}${printed.search}`);
    expect(r.code).toBe(302);
    expect(r.headers.location).toBe('/c/sandbox/vmplane/vms');
    expect(r.headers['set-cookie']).toEqual([
      `${ui.cookieName}=${ui.token}; Path=/; HttpOnly; SameSite=Strict`,
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

  it('refuses a path that would change the upstream host: 400', async () => {
    const r = await get('/clusters/sandbox//attacker.example/x', cookie());
    expect(r.code).toBe(400);
  });

  it("refuses a foreign Origin's websocket, and opens its own", async () => {
    expect(await websocket('https://attacker.example')).toBe('refused 403');
    expect(await websocket(undefined)).toBe('refused 403');
    expect(await websocket(`http://127.0.0.1:${port}`)).toBe('open');
  });
});
