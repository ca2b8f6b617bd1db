// A TCP connection to a port of a VM's guest, through the API server: KubeVirt's `portforward`
// subresource of the VMI (`.../virtualmachineinstances/NAME/portforward/PORT/tcp`), a websocket
// with the subprotocol plain.kubevirt.io whose binary messages are the raw bytes of the connection,
// as virtctl's port-forward uses it. The same path works on a cluster with KubeVirt and on the
// local engine.
import type { Duplex, Readable, Writable } from 'node:stream';
import type { KubeConfig } from '@kubernetes/client-node';
import WebSocket, { createWebSocketStream } from 'ws';
import { consoleUrl } from './console.ts';

/** The guest port to reach, on which VMI. */
export interface TunnelTarget {
  namespace: string;
  name: string;
  port: number;
}

export function portForwardUrl(server: string, t: TunnelTarget): string {
  return consoleUrl(server, t.namespace, t.name).replace(
    /\/console$/,
    `/portforward/${t.port}/tcp`,
  );
}

/**
 * Why the API server refused the tunnel, told for people (pure): the status code and the Status
 * message it answered with (KubeVirt answers 400 for a VMI that does not run, 409 for a paused
 * one, 404 when there is no VMI; the engine names a refused port).
 */
export function tunnelRefusal(code: number, body: string, t: TunnelTarget): string {
  let message = body.trim();
  try {
    message = (JSON.parse(body) as { message?: string }).message ?? message;
  } catch {
    /* not a Status */
  }
  const vm = `virtualmachine/${t.name} in namespace ${t.namespace}`;
  const said = message ? `: ${message}` : '';
  if (/refused/i.test(message))
    return `port ${t.port} of ${vm} refused the connection (nothing listens there in the guest?)${said}`;
  if (code === 404)
    return `${vm} has no running instance (is it started, on a cluster with KubeVirt?)${said}; start it with: kubectl vm start ${t.name} -n ${t.namespace} --wait`;
  if (code === 400)
    return `${vm} is not running${said}; start it with: kubectl vm start ${t.name} -n ${t.namespace} --wait`;
  if (code === 409) return `${vm} cannot be reached now${said}`;
  if (code === 403)
    return `not allowed to port-forward to ${vm} (needs get on virtualmachineinstances/portforward in subresources.kubevirt.io)${said}`;
  return `the API server answered ${code} for port ${t.port} of ${vm}${said}`;
}

/**
 * An open tunnel: the websocket as a byte stream, attached the moment the websocket opens (a
 * server that speaks first, as sshd does, may send its bytes with the upgrade: they would be lost
 * to a stream attached a tick later), and how it closed.
 */
export interface Tunnel {
  stream: Duplex;
  closed: { code: number; reason: string };
}

/** Makes `ws` a tunnel; call it in the websocket's `open` handler, not later. */
export function attachTunnel(ws: WebSocket): Tunnel {
  const closed = { code: 1005, reason: '' };
  ws.on('close', (code: number, reason: Buffer) => {
    closed.code = code;
    closed.reason = reason.toString();
  });
  const stream = createWebSocketStream(ws);
  stream.pause();
  return { stream, closed };
}

/** Opens the tunnel; rejects with `tunnelRefusal`'s words when the API server refuses it. */
export async function openTunnel(kc: KubeConfig, t: TunnelTarget): Promise<Tunnel> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const opts: Record<string, unknown> = {};
  await kc.applyToHTTPSOptions(opts as never);
  const ws = new WebSocket(
    portForwardUrl(cluster.server, t),
    ['plain.kubevirt.io'],
    opts as WebSocket.ClientOptions,
  );
  return new Promise<Tunnel>((resolve, reject) => {
    ws.once('open', () => resolve(attachTunnel(ws)));
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (b: Buffer) => chunks.push(b));
      res.on('end', () =>
        reject(new Error(tunnelRefusal(res.statusCode ?? 0, Buffer.concat(chunks).toString(), t))),
      );
    });
    ws.once('error', (e) => reject(new Error(`port-forward: ${e.message}`)));
  });
}

/** How a tunnel ended: how many bytes came from the guest, and the close code and reason. */
export interface TunnelEnd {
  received: number;
  code: number;
  reason: string;
}

/**
 * Carries `input` to the guest and the guest's bytes to `output` until either side ends: the end
 * of `input` closes the websocket (the guest's side of the connection ends with it), and the
 * websocket's close ends `output`. A slow `output` stops the reading.
 */
export function pipeTunnel(tunnel: Tunnel, input: Readable, output: Writable): Promise<TunnelEnd> {
  const { stream, closed } = tunnel;
  let received = 0;
  stream.on('data', (b: Buffer) => {
    received += b.length;
    if (!output.write(b)) {
      stream.pause();
      output.once('drain', () => stream.resume());
    }
  });
  stream.resume();
  input.pipe(stream);
  return new Promise<TunnelEnd>((resolve) => {
    stream.on('end', () => {
      // process.stdout is never closed by Node; ending it only says no more comes.
      output.end();
      stream.destroy();
    });
    stream.on('error', () => stream.destroy());
    stream.on('close', () => {
      input.unpipe(stream);
      resolve({ received, ...closed });
    });
    output.on('error', () => stream.destroy());
  });
}

/** What to say when a tunnel closed without a normal close (empty for a normal one). */
export function tunnelEndMessage(end: TunnelEnd, t: TunnelTarget): string {
  if ([1000, 1005].includes(end.code)) return '';
  return `the connection to port ${t.port} of virtualmachine/${t.name} ended (${end.code}${end.reason ? `: ${end.reason}` : ''})`;
}
