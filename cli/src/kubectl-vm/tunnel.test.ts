// The tunnel's pure parts, and its piping against a websocket server on loopback that plays the
// far end of KubeVirt's portforward subresource (an echo in upper case, a greeting server, a
// server that closes with an error).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import {
  attachTunnel,
  pipeTunnel,
  portForwardUrl,
  tunnelEndMessage,
  tunnelRefusal,
  type Tunnel,
  type TunnelEnd,
} from './tunnel.ts';

const t = { namespace: 'demo', name: 'debian-1', port: 22 };

describe('portForwardUrl', () => {
  it("is the VMI's portforward subresource with port and protocol, as a websocket URL", () => {
    expect(portForwardUrl('https://10.0.0.1:6443/', t)).toBe(
      'wss://10.0.0.1:6443/apis/subresources.kubevirt.io/v1/namespaces/demo/virtualmachineinstances/debian-1/portforward/22/tcp',
    );
    expect(portForwardUrl('http://127.0.0.1:8001/k8s', { ...t, port: 80 })).toBe(
      'ws://127.0.0.1:8001/k8s/apis/subresources.kubevirt.io/v1/namespaces/demo/virtualmachineinstances/debian-1/portforward/80/tcp',
    );
  });
});

describe('tunnelRefusal', () => {
  const status = (message: string): string =>
    JSON.stringify({ kind: 'Status', status: 'Failure', message });

  it('says a VM is not running, with what KubeVirt said and how to start it', () => {
    expect(
      tunnelRefusal(400, status('Unable to connect to VM because phase is Scheduling'), t),
    ).toBe(
      'virtualmachine/debian-1 in namespace demo is not running: Unable to connect to VM because phase is Scheduling; start it with: kubectl vm start debian-1 -n demo --wait',
    );
    expect(tunnelRefusal(404, status('virtualmachineinstance "debian-1" not found'), t)).toMatch(
      /^virtualmachine\/debian-1 in namespace demo has no running instance .*not found; start it with/,
    );
  });

  it('names the port when the guest refused the connection', () => {
    expect(tunnelRefusal(502, status('dial tcp 10.0.2.2:22: connect: connection refused'), t)).toBe(
      'port 22 of virtualmachine/debian-1 in namespace demo refused the connection (nothing listens there in the guest?): dial tcp 10.0.2.2:22: connect: connection refused',
    );
  });

  it('names the permission a 403 lacks, and keeps any other answer as it came', () => {
    expect(tunnelRefusal(403, status('forbidden'), t)).toContain(
      'virtualmachineinstances/portforward',
    );
    expect(tunnelRefusal(500, 'boom', t)).toBe(
      'the API server answered 500 for port 22 of virtualmachine/debian-1 in namespace demo: boom',
    );
  });
});

describe('tunnelEndMessage', () => {
  it('is silent for a normal close and names code and reason otherwise', () => {
    const end = (code: number, reason = ''): TunnelEnd => ({ received: 0, code, reason });
    expect(tunnelEndMessage(end(1000), t)).toBe('');
    expect(tunnelEndMessage(end(1005), t)).toBe('');
    expect(tunnelEndMessage(end(1011, 'dial failed'), t)).toBe(
      'the connection to port 22 of virtualmachine/debian-1 ended (1011: dial failed)',
    );
  });
});

let server: Server;
let base = '';
const frames: { binary: boolean; data: Buffer }[] = [];

beforeAll(async () => {
  server = createServer();
  const wss = new WebSocketServer({ server, handleProtocols: () => 'plain.kubevirt.io' });
  wss.on('connection', (ws, req) => {
    if (req.url === '/greet') {
      ws.send(Buffer.from('SSH-2.0-double\r\n'));
      ws.on('message', (d: Buffer, binary: boolean) => {
        frames.push({ binary, data: Buffer.from(d) });
        ws.close(1000);
      });
    } else if (req.url === '/fail') ws.close(1011, 'dial failed');
    else ws.on('message', (d: Buffer) => ws.send(Buffer.from(d.toString().toUpperCase())));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

async function open(path: string): Promise<Tunnel> {
  const ws = new WebSocket(`${base}${path}`, ['plain.kubevirt.io']);
  return new Promise((r, j) => ws.once('open', () => r(attachTunnel(ws))).once('error', j));
}

const collect = (s: PassThrough): Promise<string> =>
  new Promise((resolve) => {
    const chunks: Buffer[] = [];
    s.on('data', (b: Buffer) => chunks.push(b));
    s.on('end', () => resolve(Buffer.concat(chunks).toString()));
  });

describe('pipeTunnel', () => {
  it('carries input to the far end and its bytes back, and ends when the input ends', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const got = collect(output);
    const done = pipeTunnel(await open('/echo'), input, output);
    input.write('hello ');
    await new Promise((r) => setTimeout(r, 50));
    input.end('guest');
    const end = await done;
    expect(await got).toBe('HELLO GUEST');
    expect(end).toMatchObject({ received: 11 });
    expect(tunnelEndMessage(end, t)).toBe('');
  });

  it('sends binary messages, and ends the output when the far end closes', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const got = collect(output);
    const done = pipeTunnel(await open('/greet'), input, output);
    input.write(Buffer.from([0, 255, 1]));
    const end = await done;
    expect(await got).toBe('SSH-2.0-double\r\n');
    expect(frames).toEqual([{ binary: true, data: Buffer.from([0, 255, 1]) }]);
    expect(end.code).toBe(1000);
  });

  it("reports the far end's error close", async () => {
    const output = new PassThrough();
    const got = collect(output);
    const end = await pipeTunnel(await open('/fail'), new PassThrough(), output);
    expect(await got).toBe('');
    expect(tunnelEndMessage(end, t)).toBe(
      'the connection to port 22 of virtualmachine/debian-1 ended (1011: dial failed)',
    );
  });
});
