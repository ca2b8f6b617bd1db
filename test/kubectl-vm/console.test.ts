// `kubectl vm console` against a test double of KubeVirt's console subresource: a TLS websocket
// server speaking plain.kubevirt.io (the API server cannot serve it without KubeVirt). The command
// runs under a real pseudo-terminal (util-linux `script`), so raw mode and its restoration are real.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createNetServer, connect as connectTcp, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConsole } from '../../cli/src/kubectl-vm/console.ts';
import { KubeRest } from '../../kube/src/rest.ts';
import { WebSocketServer, type WebSocket } from 'ws';
import { stringify } from 'yaml';
import { REPO_ROOT } from '../../api/src/paths.ts';
import { createCertificateAuthority, issueCertificate } from '../../kube/src/pki.ts';

const ca = createCertificateAuthority('console-double', 1);
const tls = issueCertificate(ca, {
  commonName: 'double',
  ipAddresses: ['127.0.0.1'],
  usages: ['server'],
  validityDays: 1,
});
const dir = mkdtempSync(join(tmpdir(), 'vmplane-console-'));
let server: Server;
let wss: WebSocketServer;
const received: Buffer[] = [];
let protocol = '';
let connected: WebSocket | undefined;
let port = 0;
/** A websocket server that never answers pings: a link gone dead without a close. */
let silent: WebSocketServer;

beforeAll(async () => {
  server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    // What the API server would answer for the VM: running.
    if (
      req.method === 'GET' &&
      req.url === '/apis/vmplane.io/v1alpha1/namespaces/demo/virtualmachines/web'
    ) {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(
        JSON.stringify({
          apiVersion: 'vmplane.io/v1alpha1',
          kind: 'VirtualMachine',
          metadata: { name: 'web', namespace: 'demo' },
          spec: {},
          status: { printableStatus: 'Running' },
        }),
      );
      return;
    }
    res.writeHead(404).end();
  });
  wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) =>
      protocols.has('plain.kubevirt.io') ? 'plain.kubevirt.io' : false,
  });
  silent = new WebSocketServer({ noServer: true, autoPong: false });
  server.on('upgrade', (req, socket, head) => {
    if (req.url?.endsWith('/virtualmachineinstances/dead/console')) {
      silent.handleUpgrade(req, socket, head, () => undefined);
      return;
    }
    if (
      req.url !==
        '/apis/subresources.kubevirt.io/v1/namespaces/demo/virtualmachineinstances/web/console' ||
      req.headers.authorization !== 'Bearer test-token'
    ) {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      protocol = ws.protocol;
      connected = ws;
      ws.on('message', (d: Buffer) => received.push(Buffer.from(d)));
      ws.send(Buffer.from('\r\nUbuntu 24.04 LTS web ttyS0\r\n\r\nweb login: '));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as AddressInfo).port;
  writeFileSync(
    join(dir, 'kubeconfig'),
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'double',
          cluster: {
            server: `https://127.0.0.1:${port}`,
            'certificate-authority-data': Buffer.from(ca.certPem).toString('base64'),
          },
        },
      ],
      users: [{ name: 'u', user: { token: 'test-token' } }],
      contexts: [{ name: 'double', context: { cluster: 'double', user: 'u', namespace: 'demo' } }],
      'current-context': 'double',
    }),
  );
});

afterAll(async () => {
  wss.close();
  silent.close();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('kubectl vm console', () => {
  it("carries typed bytes to the VM and the VM's bytes to the terminal; Ctrl-] leaves and restores the terminal", async () => {
    const cmd = `${process.execPath} --import tsx ${join(REPO_ROOT, 'cli/src/kubectl-vm/main.ts')} --kubeconfig ${join(dir, 'kubeconfig')} console web; echo "exit=$?"; stty -a`;
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
      cwd: REPO_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    const deadline = Date.now() + 30_000;
    while (!out.includes('web login:') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(out).toContain('Connected to demo/web. Escape sequence is ^]');
    expect(out).toContain('web login: ');
    expect(protocol).toBe('plain.kubevirt.io');

    child.stdin.write('root');
    while (Buffer.concat(received).toString() !== 'root' && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    // Raw mode: each key went out at once, with no Enter and no local echo.
    expect(Buffer.concat(received).toString()).toBe('root');
    connected?.send(Buffer.from('\r\nPassword: '));
    while (!out.includes('Password: ') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));

    child.stdin.write(Buffer.from([0x1d])); // Ctrl-]
    while (!out.includes('exit=') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    child.stdin.end();
    await exited;
    expect(out).toContain('Disconnected.');
    expect(out).toContain('exit=0');
    // The terminal is back in cooked mode: line editing and echo on.
    const stty = out.slice(out.indexOf('exit=0'));
    expect(stty).toMatch(/(^|\s)icanon(\s|;)/);
    expect(stty).toMatch(/(^|\s)echo(\s|;)/);
    expect(Buffer.concat(received).toString()).toBe('root'); // Ctrl-] itself never reached the VM
  }, 60_000);

  it('gives up on a link that stops answering pings, saying so', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(join(dir, 'kubeconfig'));
    const err = new PassThrough();
    let said = '';
    err.on('data', (b: Buffer) => (said += b.toString()));
    const started = Date.now();
    const code = await runConsole(
      kc,
      'demo',
      'dead',
      { input: new PassThrough() as never, output: new PassThrough() as never, err: err as never },
      { pingMs: 200, deadAfterMs: 1_000 },
    );
    expect(code).toBe(1);
    expect(said).toContain('no answer from the API server for 1 s; the connection is dead');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("goes through the kubeconfig's proxy-url (console and API calls)", async () => {
    const tunnels: string[] = [];
    const sockets: Socket[] = [];
    const proxy = createNetServer((client) => {
      sockets.push(client);
      client.once('data', (head: Buffer) => {
        const line = head.toString().split('\r\n')[0] ?? '';
        const target = /^CONNECT (\S+):(\d+) /.exec(line);
        if (!target) return client.end('HTTP/1.1 405 Method Not Allowed\r\n\r\n');
        tunnels.push(`${target[1]}:${target[2]}`);
        const upstream = connectTcp(Number(target[2]), target[1] as string, () => {
          client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
          client.pipe(upstream).pipe(client);
        });
        sockets.push(upstream);
        upstream.on('error', () => client.destroy());
      });
      client.on('error', () => undefined);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    try {
      const kc = new KubeConfig();
      kc.loadFromFile(join(dir, 'kubeconfig'));
      const cluster = kc.getCurrentCluster() as { proxyUrl?: string };
      kc.clusters = kc.clusters.map((c) => ({
        ...c,
        proxyUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
      }));
      expect(cluster).toBeDefined();
      const input = new PassThrough();
      const output = new PassThrough();
      let shown = '';
      output.on('data', (b: Buffer) => {
        shown += b.toString();
        if (shown.includes('web login:')) input.write(Buffer.from([0x1d]));
      });
      const code = await runConsole(kc, 'demo', 'web', {
        input: input as never,
        output: output as never,
        err: new PassThrough() as never,
      });
      expect(code).toBe(0);
      expect(shown).toContain('web login: ');
      expect(tunnels).toEqual([`127.0.0.1:${port}`]);
      // The other commands' API calls take the same way.
      const rest = new KubeRest(kc);
      const got = await rest.request<{ status: { printableStatus: string } }>(
        'GET',
        '/apis/vmplane.io/v1alpha1/namespaces/demo/virtualmachines/web',
      );
      rest.close();
      expect(got.body.status.printableStatus).toBe('Running');
      expect(tunnels).toEqual([`127.0.0.1:${port}`, `127.0.0.1:${port}`]);
    } finally {
      for (const sock of sockets) sock.destroy();
      await new Promise((r) => proxy.close(r));
    }
  });
});
