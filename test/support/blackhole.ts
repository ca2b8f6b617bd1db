// A TCP proxy on loopback that can turn into a blackhole: it keeps every connection open and
// accepts new ones, but forwards nothing in either direction, the way a dead link or a partitioned
// node looks to a client (no reset, no close; only silence).
import { connect, createServer, type Server, type Socket } from 'node:net';

export class BlackholeProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  /** While true, bytes are dropped both ways. */
  blackholed = false;
  connections = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<number> {
    this.server = createServer((client) => {
      this.connections++;
      const upstream = connect(this.targetPort, this.targetHost);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.on('data', (b: Buffer) => {
        if (!this.blackholed) upstream.write(b);
      });
      upstream.on('data', (b: Buffer) => {
        if (!this.blackholed) client.write(b);
      });
      client.on('end', () => upstream.end());
      upstream.on('end', () => client.end());
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
