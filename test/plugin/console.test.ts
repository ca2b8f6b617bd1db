// The serial console in Chromium. The test control plane cannot serve KubeVirt's console
// subresource (no KubeVirt, no VM), so a test double plays it: a TLS websocket server speaking
// plain.kubevirt.io, to which the UI server sends /apis/subresources.kubevirt.io/ paths. The VM
// objects themselves come from the real API server (the test writes their status, as KubeVirt's
// engine would).
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { waitUntil } from '../../kube/src/client.ts';
import { KubeRest } from '../../kube/src/rest.ts';
import { createCertificateAuthority, issueCertificate } from '../../kube/src/pki.ts';
import { openPluginInBrowser, SHOTS, type PluginInBrowser } from '../support/browser.ts';
import { kubeConfig } from '../support/cluster.ts';
import { API_VERSION } from '../../api/src/wellknown.ts';

const V = API_VERSION;
const ns = `console-${randomBytes(3).toString('hex')}`;
const CONSOLE_PATH = `/apis/subresources.kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances/web/console`;

const ca = createCertificateAuthority('console-double', 1);
const cert = issueCertificate(ca, {
  commonName: 'double',
  ipAddresses: ['127.0.0.1'],
  usages: ['server'],
  validityDays: 1,
});
let double: Server;
let wss: WebSocketServer;
const sessions: { protocol: string; received: string[]; socket: WebSocket }[] = [];

let rest: KubeRest;
let web: PluginInBrowser;
let page: Page;
const xtermLoads: string[] = [];

async function vm(name: string, printableStatus: string): Promise<void> {
  const base = `/apis/${V}/namespaces/${ns}/virtualmachines`;
  await rest.request('POST', base, {
    body: {
      apiVersion: V,
      kind: 'VirtualMachine',
      metadata: { name, namespace: ns },
      spec: { className: 'small', image: { kind: 'ClusterVirtualMachineImage', name: 'ubuntu' } },
    },
  });
  await rest.request('PATCH', `${base}/${name}/status`, {
    body: {
      status: {
        printableStatus,
        phase: printableStatus,
        ...(printableStatus === 'Running' ? { nodeName: 'node-1', primaryIP: '10.0.0.5' } : {}),
      },
    },
    contentType: 'application/merge-patch+json',
  });
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  double = createServer({ cert: cert.certPem, key: cert.keyPem }, (_req, res) =>
    res.writeHead(404).end(),
  );
  wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (p) => (p.has('plain.kubevirt.io') ? 'plain.kubevirt.io' : false),
  });
  double.on('upgrade', (req, socket, head) => {
    if (req.url !== CONSOLE_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const session = { protocol: ws.protocol, received: [] as string[], socket: ws };
      sessions.push(session);
      ws.on('message', (d: Buffer) => {
        session.received.push(d.toString('utf8'));
        ws.send(d); // the guest echoes what is typed, as a login prompt does
      });
      // The guest's serial port, as KubeVirt relays it: raw bytes in binary frames.
      ws.send(
        Buffer.from(
          `\r\nUbuntu 24.04 LTS web ttyS0 (session ${sessions.length})\r\n\r\nweb login: `,
        ),
      );
    });
  });
  await new Promise<void>((r) => double.listen(0, '127.0.0.1', () => r()));

  rest = new KubeRest(kubeConfig());
  await rest.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await vm('web', 'Running');
  await vm('db', 'Stopped');

  web = await openPluginInBrowser({
    height: 1000,
    override: {
      prefix: '/apis/subresources.kubevirt.io/',
      target: `https://127.0.0.1:${(double.address() as AddressInfo).port}`,
      ca: ca.certPem,
    },
  });
  page = web.page;
  page.on('request', (r) => {
    if (r.url().endsWith('/xterm.js')) xtermLoads.push(r.url());
  });
}, 120_000);

afterAll(async () => {
  await web?.close();
  wss?.close();
  await new Promise((r) => double?.close(r));
  if (rest) {
    await rest
      .request('DELETE', `/apis/${V}/namespaces/${ns}/virtualmachines`)
      .catch(() => undefined);
    await rest.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
    rest.close();
  }
}, 60_000);

describe('the serial console in the browser', () => {
  it("shows the guest's output, sends what is typed, and reconnects after the console drops", async () => {
    await page.goto(`${web.ui.url}/c/test/vmplane/vms/${ns}/web`);
    const state = page.getByTestId('console-state');
    await state.filter({ hasText: 'Connected' }).waitFor({ timeout: 30_000 });
    const terminal = page.getByTestId('console');
    // xterm draws only while on screen (it pauses when scrolled out of view), as a user sees it.
    await terminal.scrollIntoViewIfNeeded();
    await terminal.getByText('web login:').waitFor();
    expect(await terminal.innerText()).toContain('Ubuntu 24.04 LTS web ttyS0 (session 1)');
    expect(sessions[0]?.protocol).toBe('plain.kubevirt.io');

    // Keys typed into the terminal reach the guest as bytes.
    await terminal.click();
    await page.keyboard.type('root');
    await page.keyboard.press('Enter');
    await waitUntil(
      'the guest to receive the typed login',
      async () => sessions[0]!.received.join('') === 'root\r',
      10_000,
    );
    await terminal.getByText('web login: root').waitFor();
    await page.screenshot({ path: join(SHOTS, 'console-connected.png') });

    // The console drops (the instance restarted, say): the page says so and offers Reconnect.
    sessions[0]!.socket.close();
    await state.filter({ hasText: 'Disconnected' }).waitFor();
    await page.screenshot({ path: join(SHOTS, 'console-disconnected.png') });
    await page.getByRole('button', { name: 'Reconnect' }).click();
    await state.filter({ hasText: 'Connected' }).waitFor();
    await terminal.getByText('(session 2)').waitFor();
    expect(sessions).toHaveLength(2);
    // The terminal came from the plugin's folder once, when the first console opened.
    expect(xtermLoads).toEqual([`${web.ui.url}/plugins/vmplane/xterm.js`]);
    expect(web.pageErrors).toEqual([]);
  });

  it('explains that a stopped VM has no console, and opens none', async () => {
    const before = sessions.length;
    await page.goto(`${web.ui.url}/c/test/vmplane/vms/${ns}/db`);
    await page
      .getByText(
        'The serial console is available while the VM runs; it is Stopped. Start it to connect.',
      )
      .waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('console').count()).toBe(0);
    expect(sessions).toHaveLength(before);
  });
});
