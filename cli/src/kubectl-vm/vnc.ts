// The VM's screen: a local VNC port bridged to KubeVirt's vnc subresource (a websocket through the
// API server), for any VNC viewer, as `virtctl vnc --proxy-only` offers; and a screenshot (PNG)
// from the vnc/screenshot subresource.
import { request } from 'node:https';
import { createServer, type Server } from 'node:net';
import { writeFileSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import WebSocket from 'ws';
import { consoleUrl } from './console.ts';

const subresource = (kc: KubeConfig, ns: string, name: string, sub: string): string =>
  consoleUrl(kc.getCurrentCluster()?.server ?? '', ns, name).replace(/\/console$/, `/${sub}`);

async function tlsOptions(kc: KubeConfig): Promise<Record<string, unknown>> {
  const opts: Record<string, unknown> = {};
  await kc.applyToHTTPSOptions(opts as never);
  return opts;
}

/** Saves the screen as PNG; the API server's refusal, if any, is the error. */
export async function saveScreenshot(
  kc: KubeConfig,
  ns: string,
  name: string,
  file: string,
): Promise<void> {
  const url = subresource(kc, ns, name, 'vnc/screenshot').replace(/^ws/, 'http');
  const opts = await tlsOptions(kc);
  const { code, body } = await new Promise<{ code: number; body: Buffer }>((resolve, reject) => {
    const req = request(url, { ...opts, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (b: Buffer) => chunks.push(b));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
  if (code !== 200) {
    let message = body.toString();
    try {
      message = (JSON.parse(message) as { message?: string }).message ?? message;
    } catch {
      /* not a Status */
    }
    throw new Error(
      `the API server answered ${code}${code === 404 ? " (is the VM running, on an engine that serves KubeVirt's vnc/screenshot?)" : ''}: ${message}`,
    );
  }
  writeFileSync(file, body);
}

/**
 * Listens on a loopback port; each connection gets its own websocket to the VM's VNC server, with
 * the bytes passed both ways. Resolves with the server once it listens.
 */
export async function proxyVnc(
  kc: KubeConfig,
  ns: string,
  name: string,
  port: number,
  onError: (message: string) => void,
): Promise<Server> {
  const url = subresource(kc, ns, name, 'vnc');
  const opts = await tlsOptions(kc);
  const server = createServer((socket) => {
    socket.pause();
    const ws = new WebSocket(url, ['plain.kubevirt.io'], opts as WebSocket.ClientOptions);
    ws.on('open', () => {
      socket.on('data', (b: Buffer) => ws.send(b));
      socket.resume();
    });
    ws.on('message', (b: Buffer) => socket.write(b));
    ws.on('unexpected-response', (_req, res) => {
      onError(`vnc: the API server answered ${res.statusCode}`);
      socket.destroy();
    });
    ws.on('error', (e) => {
      onError(`vnc: ${e.message}`);
      socket.destroy();
    });
    ws.on('close', () => socket.end());
    socket.on('close', () => ws.close());
    socket.on('error', () => ws.close());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return server;
}
