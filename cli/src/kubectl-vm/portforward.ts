// `kubectl vm port-forward VM [LOCAL:]REMOTE...`: loopback ports carried to the guest's ports, one
// tunnel per connection (as kubectl and virtctl port-forward do), or with --stdio one connection
// over stdin/stdout, which is what ssh's ProxyCommand wants (`kubectl vm ssh` uses it).
import { createServer, type Server } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Argv } from 'yargs';
import { clusterContext, clusterOptions } from './cluster.ts';
import { parsePortSpecs, type PortSpec } from './forward-args.ts';
import { openTunnel, pipeTunnel, tunnelEndMessage, type TunnelTarget } from './tunnel.ts';
import { exitUnlessRunning } from './vm.ts';

/** One connection over `input`/`output`; resolves with the exit code (errors said on `err`). */
export async function forwardStdio(
  kc: KubeConfig,
  t: TunnelTarget,
  io: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream; err: NodeJS.WritableStream },
): Promise<number> {
  let tunnel;
  try {
    tunnel = await openTunnel(kc, t);
  } catch (e) {
    io.err.write(`error: ${(e as Error).message}\n`);
    return 1;
  }
  const end = await pipeTunnel(tunnel, io.input as never, io.output as never);
  const message = tunnelEndMessage(end, t);
  if (message) io.err.write(`error: ${message}\n`);
  return message ? 1 : 0;
}

/** Listens on 127.0.0.1 for each spec; each connection gets its own tunnel to the guest port. */
export async function listenForwards(
  kc: KubeConfig,
  vm: { namespace: string; name: string },
  specs: readonly PortSpec[],
  log: (line: string) => void,
): Promise<Server[]> {
  const servers: Server[] = [];
  try {
    for (const spec of specs) {
      const t = { ...vm, port: spec.remote };
      const server = createServer((socket) => {
        socket.pause();
        socket.on('error', () => socket.destroy());
        openTunnel(kc, t).then(
          async (tunnel) => {
            const message = tunnelEndMessage(await pipeTunnel(tunnel, socket, socket), t);
            if (message) log(`error: ${message}`);
          },
          (e: Error) => {
            log(`error: ${e.message}`);
            socket.destroy();
          },
        );
      });
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', (e: NodeJS.ErrnoException) =>
          reject(
            new Error(
              e.code === 'EADDRINUSE'
                ? `local port ${spec.local} is in use; name another (LOCAL:${spec.remote}) or :${spec.remote} for any free one`
                : `cannot listen on 127.0.0.1:${spec.local}: ${e.message}`,
            ),
          ),
        );
        server.listen(spec.local, '127.0.0.1', resolve);
      });
    }
  } catch (e) {
    for (const s of servers) s.close();
    throw e;
  }
  return servers;
}

/** The port a server listens on. */
export const listeningPort = (s: Server): number => {
  const a = s.address();
  return typeof a === 'object' && a ? a.port : 0;
};

export function registerPortForwardCommand(program: Argv): void {
  program.command(
    'port-forward <name> <ports..>',
    "Forward loopback ports to the VM's ports ([LOCAL:]REMOTE), through the API server.",
    (command) =>
      clusterOptions(command)
        .positional('name', { type: 'string', demandOption: true })
        .positional('ports', { type: 'string', array: true, demandOption: true })
        .option('stdio', {
          type: 'boolean',
          default: false,
          describe: 'one connection over stdin/stdout (for ssh -o ProxyCommand); one port only',
        })
        .example('$0 port-forward web-1 8080:80', 'then http://127.0.0.1:8080 is port 80 of web-1')
        .example('$0 port-forward web-1 :22', 'any free local port to port 22')
        .example(
          'ssh -o ProxyCommand="kubectl vm port-forward --stdio -n demo debian-1 22" demo@debian-1',
          'what kubectl vm ssh does',
        ),
    async (argv) => {
      const ports = argv.ports.map(String);
      let specs: PortSpec[];
      try {
        specs = parsePortSpecs(ports, argv.stdio);
      } catch (e) {
        process.stderr.write(`error: ${(e as Error).message}\n`);
        process.exit(1);
      }
      const ctx = clusterContext(argv);
      await exitUnlessRunning(ctx, argv.name);
      ctx.rest.close();
      const vm = { namespace: ctx.namespace, name: argv.name };
      if (argv.stdio) {
        const io = { input: process.stdin, output: process.stdout, err: process.stderr };
        process.exit(await forwardStdio(ctx.kc, { ...vm, port: specs[0]!.remote }, io));
      }
      const servers = await listenForwards(ctx.kc, vm, specs, (l) =>
        process.stderr.write(`${l}\n`),
      ).catch((e: Error) => {
        process.stderr.write(`error: ${e.message}\n`);
        process.exit(1);
      });
      servers.forEach((s, i) =>
        process.stdout.write(
          `Forwarding from 127.0.0.1:${listeningPort(s)} -> ${specs[i]!.remote} of virtualmachine/${argv.name} (Ctrl-C stops)\n`,
        ),
      );
    },
  );
}
