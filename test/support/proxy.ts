// A TCP proxy on a loopback port, the common part of the test proxies: listening, keeping track
// of every socket, and closing them all on stop. Subclasses decide where a connection goes.
import { createServer, type Server, type Socket } from 'node:net';

export abstract class LoopbackProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  /** Handles one client connection (connect upstream, pipe, count). */
  protected abstract onConnection(client: Socket): void;

  /** Tracks sockets so stop() can close them; an error closes only the socket it happened on. */
  protected track(...sockets: Socket[]): void {
    for (const s of sockets) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => s.destroy());
    }
  }

  async start(): Promise<number> {
    this.server = createServer((client) => this.onConnection(client));
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
