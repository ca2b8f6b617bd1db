// The VM's screen, `kubectl vm vnc`: a local VNC port bridged to KubeVirt's vnc subresource (a
// websocket through the API server), for any VNC viewer, as `virtctl vnc --proxy-only` offers; and
// a screenshot (PNG) from the vnc/screenshot subresource.
import { request } from 'node:https';
import { createServer, type Server } from 'node:net';
import { writeFileSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import WebSocket from 'ws';
import type { Argv } from 'yargs';
import { clusterContext, clusterOptions } from './cluster.ts';
import { consoleUrl } from './console.ts';
import { exitUnlessRunning } from './vm.ts';

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

export function registerVncCommand(program: Argv): void {
  program.command(
    'vnc <name>',
    "The VM's screen: a local port for any VNC viewer, or a screenshot (--screenshot FILE).",
    (command) =>
      clusterOptions(command)
        .positional('name', { type: 'string', demandOption: true })
        .option('port', {
          type: 'number',
          default: 0,
          describe: 'the loopback port to listen on (0: any free port)',
        })
        .option('screenshot', {
          type: 'string',
          describe: 'save the screen as PNG to this file and exit',
        })
        .example('$0 vnc web-1', 'then point a VNC viewer at the printed address')
        .example('$0 vnc web-1 --screenshot web-1.png', 'what the screen shows now'),
    async (argv) => {
      const ctx = clusterContext(argv);
      await exitUnlessRunning(ctx, argv.name);
      ctx.rest.close();
      if (argv.screenshot) {
        await saveScreenshot(ctx.kc, ctx.namespace, argv.name, argv.screenshot).catch(
          (e: Error) => {
            process.stderr.write(`error: ${e.message}\n`);
            process.exit(1);
          },
        );
        process.stdout.write(
          `saved the screen of virtualmachine/${argv.name} to ${argv.screenshot}\n`,
        );
        return;
      }
      const server = await proxyVnc(ctx.kc, ctx.namespace, argv.name, argv.port, (message) =>
        process.stderr.write(`${message}\n`),
      );
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : argv.port;
      process.stdout.write(
        `VNC of virtualmachine/${argv.name} at 127.0.0.1:${port}: point a VNC viewer at it (for example vncviewer 127.0.0.1::${port}); Ctrl-C stops\n`,
      );
    },
  );
}
