// The serial console, `kubectl vm console`: KubeVirt's websocket subresource (protocol
// plain.kubevirt.io) wired to the terminal in raw mode. Ctrl-] leaves and restores the terminal, as
// virtctl and telnet do.
import type { KubeConfig } from '@kubernetes/client-node';
import WebSocket from 'ws';
import type { Argv } from 'yargs';
import { clusterContext, clusterOptions } from './cluster.ts';
import { exitUnlessRunning } from './vm.ts';

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

/** How the console notices a dead link: a ping every `pingMs`, given up after `deadAfterMs` of silence. */
export interface Heartbeat {
  pingMs: number;
  deadAfterMs: number;
}

export const DEFAULT_HEARTBEAT: Heartbeat = { pingMs: 10_000, deadAfterMs: 30_000 };

/**
 * Runs the console until Ctrl-] or the connection closes. Resolves with the exit code. The
 * websocket is pinged: a link that stops answering (a laptop that slept, a proxy that dropped the
 * connection without closing it) ends the console with a message instead of hanging it. A proxy
 * in the kubeconfig (`proxy-url`) is used, through the agent client-node builds for it.
 */
export async function runConsole(
  kc: KubeConfig,
  namespace: string,
  name: string,
  io: ConsoleIO,
  heartbeat: Heartbeat = DEFAULT_HEARTBEAT,
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
  let lastHeard = Date.now();
  let pinger: NodeJS.Timeout | undefined;
  return new Promise<number>((resolve) => {
    const finish = (code: number): void => {
      clearInterval(pinger);
      restore();
      resolve(code);
    };
    ws.on('pong', () => (lastHeard = Date.now()));
    ws.on('message', () => (lastHeard = Date.now()));
    ws.on('open', () => {
      lastHeard = Date.now();
      pinger = setInterval(() => {
        if (Date.now() - lastHeard >= heartbeat.deadAfterMs) {
          io.err.write(
            `\r\nconsole: no answer from the API server for ${Math.round((Date.now() - lastHeard) / 1000)} s; the connection is dead. Disconnected.\r\n`,
          );
          ws.terminate();
          finish(1);
          return;
        }
        ws.ping();
      }, heartbeat.pingMs);
      io.err.write(`Connected to ${namespace}/${name}. Escape sequence is ^]\r\n`);
      if (tty) io.input.setRawMode(true);
      io.input.resume();
      io.input.on('data', (chunk: Buffer) => {
        const esc = chunk.indexOf(ESCAPE);
        if (esc >= 0) {
          if (esc > 0) ws.send(chunk.subarray(0, esc));
          ws.close();
          io.err.write('\r\nDisconnected.\r\n');
          finish(0);
          return;
        }
        ws.send(chunk);
      });
    });
    ws.on('message', (data: Buffer) => io.output.write(data));
    ws.on('unexpected-response', (_req, res) => {
      io.err.write(
        `console: the API server answered ${res.statusCode}${res.statusCode === 404 ? ' (is KubeVirt installed and the VM running?)' : ''}\n`,
      );
      finish(1);
    });
    ws.on('error', (e) => {
      io.err.write(`console: ${e.message}\n`);
      finish(1);
    });
    ws.on('close', () => finish(0));
  });
}

export function registerConsoleCommand(program: Argv): void {
  program.command(
    'console <name>',
    'Attach to the serial console (Ctrl-] leaves).',
    (command) =>
      clusterOptions(command)
        .positional('name', { type: 'string', demandOption: true })
        .example('$0 console web-1', 'log in on the serial console'),
    async (argv) => {
      const ctx = clusterContext(argv);
      await exitUnlessRunning(ctx, argv.name);
      const code = await runConsole(ctx.kc, ctx.namespace, argv.name, {
        input: process.stdin,
        output: process.stdout,
        err: process.stderr,
      });
      ctx.rest.close();
      process.exit(code);
    },
  );
}
