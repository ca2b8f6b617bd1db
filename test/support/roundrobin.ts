// A TCP proxy on loopback that spreads connections over several backends in turn, the way a
// Service spreads them over its Pods. Backends are looked up per connection, so they may be
// added after the proxy started.
import { connect, createServer, type Server, type Socket } from 'node:net';

export class RoundRobinProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private next = 0;
  /** Connections sent to each backend, by index. */
  readonly served: number[] = [];

  constructor(private readonly backends: () => number[]) {}

  async start(): Promise<number> {
    this.server = createServer((client) => {
      const ports = this.backends();
      if (!ports.length) {
        client.destroy();
        return;
      }
      const i = this.next++ % ports.length;
      this.served[i] = (this.served[i] ?? 0) + 1;
      const upstream = connect(ports[i] as number, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    return new Promise((resolve) =>
      this.server?.listen(0, '127.0.0.1', () =>
        resolve((this.server?.address() as { port: number }).port),
      ),
    );
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server?.close(r));
  }
}
