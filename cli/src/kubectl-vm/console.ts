// The serial console: KubeVirt's websocket subresource (protocol plain.kubevirt.io) wired to the
// terminal in raw mode. Ctrl-] leaves and restores the terminal, as virtctl and telnet do.
import type { KubeConfig } from '@kubernetes/client-node';
import WebSocket from 'ws';

export const ESCAPE = 0x1d; // Ctrl-]

export function consoleUrl(server: string, namespace: string, name: string): string {
  const u = new URL(server);
  u.protocol = u.protocol === 'http:' ? 'ws:' : 'wss:';
  u.pathname = `${u.pathname.replace(/\/$/, '')}/apis/subresources.kubevirt.io/v1/namespaces/${encodeURIComponent(namespace)}/virtualmachineinstances/${encodeURIComponent(name)}/console`;
  return u.toString();
}

export interface ConsoleIO {
  input: NodeJS.ReadStream;
  output: NodeJS.WriteStream;
  err: NodeJS.WriteStream;
}

/** Runs the console until Ctrl-] or the connection closes. Resolves with the exit code. */
export async function runConsole(
  kc: KubeConfig,
  namespace: string,
  name: string,
  io: ConsoleIO,
): Promise<number> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const opts: Record<string, unknown> = {};
  await kc.applyToHTTPSOptions(opts as never);
  const ws = new WebSocket(
    consoleUrl(cluster.server, namespace, name),
    ['plain.kubevirt.io'],
    opts as WebSocket.ClientOptions,
  );
  const tty = io.input.isTTY === true;
  let restored = false;
  const restore = (): void => {
    if (restored) return;
    restored = true;
    if (tty) io.input.setRawMode(false);
    io.input.pause();
  };
  return new Promise<number>((resolve) => {
    ws.on('open', () => {
      io.err.write(`Connected to ${namespace}/${name}. Escape sequence is ^]\r\n`);
      if (tty) io.input.setRawMode(true);
      io.input.resume();
      io.input.on('data', (chunk: Buffer) => {
        const esc = chunk.indexOf(ESCAPE);
        if (esc >= 0) {
          if (esc > 0) ws.send(chunk.subarray(0, esc));
          restore();
          ws.close();
          io.err.write('\r\nDisconnected.\r\n');
          resolve(0);
          return;
        }
        ws.send(chunk);
      });
    });
    ws.on('message', (data: Buffer) => io.output.write(data));
    ws.on('unexpected-response', (_req, res) => {
      restore();
      io.err.write(
        `console: the API server answered ${res.statusCode}${res.statusCode === 404 ? ' (is KubeVirt installed and the VM running?)' : ''}\n`,
      );
      resolve(1);
    });
    ws.on('error', (e) => {
      restore();
      io.err.write(`console: ${e.message}\n`);
      resolve(1);
    });
    ws.on('close', () => {
      restore();
      resolve(0);
    });
  });
}
